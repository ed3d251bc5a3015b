"""Results: benchmark JSON files read back, validated and grouped by cell.

Modules: ``runs`` (``load_run``, ``merge_runs``, :class:`Run`), ``entries`` (the entries
that are not cells, read into the records their kinds name, or kept as recorded).
May import: ``harness.record``, ``harness.run.schema``, ``harness.run.records``,
``harness.evaluation.stats`` and the layers below; never TensorFlow (reading results must
stay quick) or ``report``.
"""
