"""Results: benchmark JSON files read back, validated and grouped by cell.

Modules: ``runs`` (:class:`Run` and :class:`CellGroup`: a run's cells grouped by split,
config, fit_on and protocol), ``reader`` (``load_run``: a results file validated and read
into a run), ``merge`` (``merge_runs``, and what two runs must share to be merged or
compared), ``entries`` (the entries that are not cells, read into the records their kinds
name, or kept as recorded).
May import: ``harness.record``, ``harness.run.schema``, ``harness.run.records``,
``harness.evaluation.stats`` and the layers below; never TensorFlow (reading results must
stay quick) or ``report``.
"""
