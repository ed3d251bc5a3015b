"""Train/test splits and their validation slices over interaction arrays; no TensorFlow."""

from splits.diagnostics import leakage_diagnostics, validation_diagnostics
from splits.registry import Registry, SplitError, UnknownNameError
from splits.strategies import (
    SPLITS,
    TEST_FRACTION,
    VALIDATION_FRACTION,
    Split,
    SplitStrategy,
    get_split,
    leave_last_out_split,
    make_split,
    make_validation,
    random_split,
    temporal_split,
    user_temporal_split,
    warm_only,
)

__all__ = [
    "SPLITS", "TEST_FRACTION", "VALIDATION_FRACTION", "Registry", "Split", "SplitError",
    "SplitStrategy", "UnknownNameError",
    "get_split", "leakage_diagnostics", "leave_last_out_split", "make_split",
    "make_validation", "random_split", "temporal_split", "user_temporal_split",
    "validation_diagnostics", "warm_only",
]
