"""A grid file: the grid of a run in TOML, for ``pytest benchmarks``, ``tune`` and ``budget``.

Every key is optional; a flag given on the command line overrides the file's value
(:meth:`harness.run.settings.GridSettings.with_file`)::

    splits = ["random", "temporal"]      # split names (or "random,temporal")
    configs = ["baseline", "timestamp", "popularity", "ease"]  # configurations, baselines
    seeds = 5                            # a count (seeds 0..4) or a list of seeds
    epochs = 3
    protocol = "all"                     # tutorial | logq | tuned | a list | all (both: all)
    fit_on = "default"                   # train | all | default
    dataset = "movielens-100k"           # or "interactions:data/inter.csv"
    exclude_seen = false
    segment_bands = [20, 100]
    tuned = "results/tuned.json"

Relative paths (``tuned``, an ``interactions:`` dataset) are read from the file's own
directory. An unknown key, a value of the wrong type or an unknown name is refused with
one line naming the file, the key and what is valid.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from harness.data.datasets import INTERACTIONS_PREFIX, check_dataset_name
from harness.errors import USER_ERRORS, UserError
from harness.evaluation.segments import check_bands
from harness.model.features import FIT_ON
from harness.record.grid import DEFAULT_FIT_ON
from harness.run.settings import FILE_KEYS, GridSettings, parse_protocols, split_configs


def _names(value, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise UserError(f"{key} must be a non-empty list of names")
    return tuple(value)


def _positive(value, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"{key} must be a positive integer, got {value!r}")
    return value


def _seeds(value, key: str) -> int | tuple[int, ...]:
    if isinstance(value, list):
        if not value or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                for s in value):
            raise UserError(f"{key} must be a count or a non-empty list of seeds >= 0")
        return tuple(value)
    return _positive(value, key)


def _choice(choices):
    def parse(value, key: str) -> str:
        if value not in choices:
            raise UserError(f"{key} must be one of {', '.join(choices)}; got {value!r}")
        return value
    return parse


def _protocol(value, key: str) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    parse_protocols(value, key)
    return value


def _boolean(value, key: str) -> bool:
    if not isinstance(value, bool):
        raise UserError(f"{key} must be true or false, got {value!r}")
    return value


def _bands(value, key: str) -> tuple[int, ...]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
        if not all(part.isdigit() for part in value):
            raise UserError(f"{key} must be a list of integers")
        value = [int(part) for part in value]
    if not isinstance(value, list):
        raise UserError(f"{key} must be a list of integers")
    return check_bands(value)


def _text(value, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise UserError(f"{key} must be a non-empty string")
    return value


_PARSERS = {
    "splits": _names, "configs": _names, "seeds": _seeds, "epochs": _positive,
    "protocol": _protocol, "fit_on": _choice((*FIT_ON, DEFAULT_FIT_ON)),
    "dataset": _text, "exclude_seen": _boolean, "segment_bands": _bands, "tuned": _text,
}
assert set(_PARSERS) == set(FILE_KEYS)


def _relative_to(base: Path, value: str) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _check_names(values: dict) -> None:
    """Unknown split, configuration or dataset names (the other keys checked their own)."""
    from splits import SPLITS

    if "splits" in values:
        SPLITS.resolve(values["splits"])
    if "configs" in values:
        split_configs(values["configs"], quick=False)
    if "dataset" in values:
        check_dataset_name(values["dataset"])


def read_grid_file(path: str | Path) -> GridSettings:
    """The settings a grid file holds (the others None), with its path and sha256.

    Raises:
        UserError: the file cannot be read, is not TOML, or has an unknown key, a value
            of the wrong type or an unknown name; one line naming the file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UserError(f"--grid-file {path}: cannot be read ({error.strerror})") from None
    try:
        table = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UserError(f"--grid-file {path}: not a TOML file ({error})") from None
    values = {}
    try:
        for key, value in table.items():
            if key not in _PARSERS:
                raise UserError(f"unknown key {key!r}; valid: {', '.join(FILE_KEYS)}")
            values[key] = _PARSERS[key](value, key)
        _check_names(values)
    except USER_ERRORS as error:
        raise UserError(f"--grid-file {path}: {error}") from None
    base = path.resolve().parent
    if "tuned" in values:
        values["tuned"] = _relative_to(base, values["tuned"])
    dataset = values.get("dataset", "")
    if dataset.startswith(INTERACTIONS_PREFIX):
        values["dataset"] = INTERACTIONS_PREFIX + _relative_to(
            base, dataset[len(INTERACTIONS_PREFIX):])
    return GridSettings(**values, grid_file=str(path.resolve()),
                        grid_file_sha256=hashlib.sha256(raw).hexdigest())


__all__ = ["read_grid_file"]
