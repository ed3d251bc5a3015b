"""Train/test splits and their validation slices over interaction arrays; no TensorFlow.

Modules: ``functions`` (the split functions and :class:`Split`), ``strategies`` (the
registered splits, their validation slices and the warm-only restriction), ``registry``
(the name registry every registry here and in the harness uses), ``diagnostics`` (leakage
and validation diagnostics of a split).
"""

from splits.diagnostics import leakage_diagnostics, validation_diagnostics
from splits.functions import (
    TEST_FRACTION,
    Split,
    leave_last_out_split,
    random_split,
    temporal_split,
    user_temporal_split,
)
from splits.registry import Registry, SplitError, UnknownNameError
from splits.strategies import (
    SPLITS,
    VALIDATION_FRACTION,
    SplitStrategy,
    get_split,
    make_split,
    make_validation,
    warm_only,
)

__all__ = [
    "SPLITS", "TEST_FRACTION", "VALIDATION_FRACTION", "Registry", "Split", "SplitError",
    "SplitStrategy", "UnknownNameError",
    "get_split", "leakage_diagnostics", "leave_last_out_split", "make_split",
    "make_validation", "random_split", "temporal_split", "user_temporal_split",
    "validation_diagnostics", "warm_only",
]
