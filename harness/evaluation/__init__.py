"""Evaluation: metric names, exact ranks, retrieval metrics and the statistics over seeds.

Modules: ``keys`` (every metric's name), ``ranking`` (one-pass exact ranks, a numba
kernel), ``metrics`` (ranks, top-k metrics, the popularity scorer and the tie rule for
scorers that tie; numpy only), ``retrieval`` (towers run over encoded rows and exact top-k
retrieval, in TensorFlow), ``stats`` (summaries, confidence intervals, paired and Welch
tests).
May import: ``harness.errors``, ``harness.tfcompat`` (``retrieval`` only), ``harness.data``.
"""
