"""Report: Markdown, LaTeX and CSV tables, the chart and the comparison of runs, from JSON only.

Modules: ``format`` (every number and table format, one place), ``caption`` (the one-line
caption every table carries), ``tables`` (a table as data, rendered as Markdown, LaTeX or
CSV and written under ``tables/``), ``diagnostics`` (the sections on the grid's cells:
leakage, throughput, failed and missing cells), ``measurements`` (the sections on the
records beside the grid: speed-up, scaling, serving, other benchmarks), ``scaling`` (the
scaling, serving and dataset-scale tables), ``segments`` (accuracy per
training-history segment), ``report`` (results.md, the tables and accuracy.png),
``compare`` (regressions between runs), ``budget`` (the budget curve's table and chart).
May import: ``harness.results``, ``harness.record`` and the layers below them, never
TensorFlow; it never trains.
"""
