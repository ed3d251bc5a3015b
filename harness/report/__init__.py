"""Report: Markdown, LaTeX and CSV tables, the chart and the comparison of runs, from JSON only.

Modules: ``format`` (every number and table format, one place), ``caption`` (the one-line
caption every table carries), ``tables`` (a table as data, rendered as Markdown, LaTeX or
CSV and written under ``tables/``), ``layout`` (which tables the report has, their rows
and the cells that fill them), ``provenance`` (the provenance table), ``accuracy`` (the
accuracy tables and the "does the feature help?" tables), ``verdicts`` (each verdict's
difference, interval and test, over test users and seeds where the run recorded per-user
hits, corrected within its table's family), ``findings`` (the verdicts counted before and
after correction, and between protocols), ``history`` (the causal configurations
against the scorers that see the same history, the order control, cold users), ``chart``
(accuracy.png), ``diagnostics`` (the sections on the grid's cells: leakage, throughput,
failed and missing cells), ``measurements`` (the sections on the records beside the grid:
speed-up, scaling, serving, other benchmarks), ``scaling`` (the scaling, serving and
dataset-scale tables), ``segments`` (accuracy per training-history segment), ``report``
(results.md, the tables and accuracy.png: the sections in order, rendered and written),
``regressions`` (what counts as a regression against the base run), ``comparison`` (a
comparison's tables: base against new, or one column per TensorFlow version), ``compare``
(the compare command: runs checked comparable, tables and verdicts), ``budget`` (the
budget curve's table and chart).
May import: ``harness.record`` and the layers below it, never
TensorFlow; it never trains.
"""
