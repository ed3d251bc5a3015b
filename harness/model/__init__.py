"""Model: feature configurations, the two towers, training, EASE^R, the tutorial's code.

Modules: ``features`` (the configuration registry and preprocessing fitted on chosen
rows), ``towers`` (query and candidate towers, the two-tower model), ``loss`` (the
in-batch softmax loss, computed in tiles of queries), ``training``
(options, the compiled training loop, early stopping), ``ease`` (EASE^R, the closed-form
item-item baseline), ``tutorial`` (the TFRS tutorial's model and loop, kept as published,
for the side-by-side speed-up).
May import: ``harness.errors``, ``harness.tfcompat``, ``harness.data``,
``harness.evaluation``.
"""
