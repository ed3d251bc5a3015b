"""ctxbench's harness: subpackages in the order data flows, each importing only those before.

- ``errors``, ``tfcompat``, ``scanncompat``: user errors; TensorFlow imported through one
  place that sets ``TF_USE_LEGACY_KERAS=1`` first; ScaNN's numpy API without its
  TensorFlow ops.
- ``data``: the MovieLens table, formats and sources, synthetic tables, splits applied.
- ``evaluation``: metric names, exact ranks (a numba kernel), metrics, statistics.
- ``model``: feature configurations, two towers, training, the tutorial's own code.
- ``record``: the record format below its writer and its reader: cell, grid, benchmark
  entries and the typed measurements beside the grid, provenance, redaction, atomic files,
  machine, fingerprint; results files read back and grouped by cell.
- ``run``: one cell end to end, the run directory, tuning, the grid session.
- ``report``: formats, report sections, results.md and the chart, compare.
- ``cli``: ``python -m harness``.

``tests/test_layers.py`` checks the order; ``record`` and ``report`` never load
TensorFlow, so reading and rendering results stays quick.
"""

from harness.data.sources import MovieLens, load_movielens
from harness.errors import DataError, TrainingError, UserError
from harness.record.provenance import current_suite_version

# The suite's version: bump the minor version whenever a change can move a number in
# results/ (README, "Citing results"); every run records it.
__version__ = current_suite_version()

__all__ = ["DataError", "MovieLens", "TrainingError", "UserError", "__version__",
           "load_movielens"]
