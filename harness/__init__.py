"""ctxbench's harness: one small module per concept, in the order data flows.

data -> splitdata (registered splits on the table) -> features -> models -> training ->
evaluate (ranks counted by ranking, a numba kernel) -> cell (one benchmark cell) ->
records -> grid (resumable runs) -> runs (read back through entries and expected) /
stats -> report, compare; tutorial_reference, synthetic and scaling for the performance
work; cli for ``python -m harness``. TensorFlow is imported only through ``tfcompat``, so
the TF-free modules (data, splitdata, records, entries, expected, runs, stats, report,
compare) stay quick to import.
"""

from harness.data.sources import MovieLens, load_movielens
from harness.errors import DataError, TrainingError, UserError

__all__ = ["DataError", "MovieLens", "TrainingError", "UserError", "load_movielens"]
