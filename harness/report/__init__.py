"""Report: Markdown, LaTeX and CSV tables, the chart and the comparison of runs, from JSON only.

Modules: ``format`` (every number and table format, one place), ``caption`` (the one-line
caption every table carries), ``tables`` (a table as data, rendered as Markdown, LaTeX or
CSV and written under ``tables/``), ``sections`` (the report's diagnostic sections),
``report`` (results.md, the tables and accuracy.png), ``compare`` (regressions between
runs), ``scaling`` (the scaling sweep's table).
May import: ``harness.results`` and the layers below it, never TensorFlow; it never trains.
"""
