"""Model: the retrievers, feature configurations, the two towers, training, EASE^R, the
tutorial's code.

Modules: ``retriever`` (the one interface every retriever implements; no TensorFlow),
``registry`` (the retrievers by name; no TensorFlow until one is built), ``twotower``
(the two towers as a retriever, one per feature configuration), ``baselines``
(popularity and EASE^R as retrievers), ``features`` (the configuration registry and
preprocessing fitted on chosen rows), ``catalogue`` (the candidate titles' words and
genres, encoded once per fit), ``causal`` (the query tower's features of the user's past,
and which rows are that past on each side of a split; opt-in configurations),
``history_specs`` (the history-aware scorers by name, what each sees: registered,
run when named), ``history_baselines`` (those scorers as retrievers),
``towers`` (query and candidate towers, the two-tower model), ``loss`` (the in-batch
softmax loss, computed in tiles of queries),
``training`` (options, the compiled training loop, early stopping), ``ease`` (EASE^R, the
closed-form item-item baseline, popularity for users with no history), ``easegrid``
(EASE^R's λ grid and its choice on a validation slice), ``history_scorers`` (popularity
so far, item-kNN and EASE^R scoring each query's history at query time),
``tutorial`` (the TFRS tutorial's model and loop, kept as published, for the side-by-side
speed-up).
May import: ``harness.errors``, ``harness.tfcompat``, ``harness.data``,
``harness.evaluation``.
"""
