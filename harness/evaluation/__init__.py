"""Evaluation: metric names, exact ranks, retrieval metrics and their statistics.

Modules: ``keys`` (every metric's name), ``ranking`` (one-pass exact ranks, a numba
kernel), ``topk`` and ``topk_pool`` (one-pass exact top-k retrieval, a numba kernel, and
its per-query running top k), ``metrics`` (ranks,
top-k metrics, the popularity scorer and the tie rule for scorers that tie; numpy only),
``retrieval`` (towers run over encoded rows and exact top-k retrieval, in TensorFlow),
``serving`` (the serving retrievers' configurations, ScaNN's searcher, recall), ``stats``
(summaries, confidence intervals, paired and Welch tests over seeds), ``resampling`` (the
verdicts' tests over test users and over seeds, and bootstrap intervals over both),
``correction`` (Holm and Benjamini-Hochberg adjusted p-values of a family of verdicts),
``kernels`` (generated numba modules, compiled once per machine), ``segments`` (test
interactions by their user's and item's training history, and the seen-items ranking).
May import: ``harness.errors``, ``harness.scanncompat``, ``harness.tfcompat``
(``retrieval`` only), ``harness.data``.
"""
