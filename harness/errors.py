"""Errors that name a user's mistake or a bad input.

The CLI turns any of :data:`USER_ERRORS` into one line on stderr and exit code 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from splits.registry import SplitError, UnknownNameError


class UserError(Exception):
    """A bad input the user can fix: corrupt file, impossible option, wrong JSON."""


class DataError(UserError):
    """A data file is missing, corrupt, truncated or fails its checksum."""


class TrainingError(RuntimeError):
    """Training diverged (NaN or inf loss) or could not run for a cell."""


USER_ERRORS = (UserError, SplitError, UnknownNameError)

__all__ = ["USER_ERRORS", "DataError", "SplitError", "TrainingError", "UnknownNameError",
           "UserError"]
