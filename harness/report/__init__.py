"""Report: Markdown tables, the chart and the comparison of runs, from JSON only.

Modules: ``format`` (every number and table format, one place), ``sections`` (the
report's diagnostic sections), ``report`` (results.md and accuracy.png), ``compare``
(regressions between runs), ``scaling`` (the scaling sweep's table).
May import: ``harness.results`` and the layers below it, never TensorFlow; it never trains.
"""
