"""Model: feature configurations, the two towers, training, and the tutorial's own code.

Modules: ``features`` (the configuration registry and preprocessing fitted on chosen
rows), ``towers`` (query and candidate towers, the in-batch softmax loss), ``training``
(options and the compiled training loop), ``tutorial`` (the TFRS tutorial's model and
loop, kept as published, for the side-by-side speed-up).
May import: ``harness.errors``, ``harness.tfcompat``, ``harness.data``,
``harness.evaluation``.
"""
