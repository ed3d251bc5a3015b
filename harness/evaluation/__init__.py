"""Evaluation: exact ranks, retrieval metrics and the statistics over seeds.

Modules: ``ranking`` (one-pass exact ranks, a numba kernel), ``metrics`` (embedding,
ranks, top-k metrics, top-k retrieval, the popularity scorer), ``stats`` (summaries,
confidence intervals, paired and Welch tests).
May import: ``harness.errors``, ``harness.tfcompat``, ``harness.data``.
"""
