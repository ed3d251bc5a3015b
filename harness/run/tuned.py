"""``tuned.json``: each (split, configuration)'s hyperparameters, chosen on its validation
slice by ``python -m harness tune`` (:mod:`harness.run.tuning`), read back by the tuned
protocol (``pytest benchmarks --protocol tuned``).

The file says what produced it — the data's sha256, a fingerprint of the code a trial
runs, the tuning settings — and :func:`read_tuned` refuses one made on other data, other
splits or other code, with one line saying what differs. No Optuna here: the benchmarks
read the file without it.
"""

from __future__ import annotations

import hashlib
import inspect
import math
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UserError
from harness.model.training import TrainOptions
from harness.run.records import REPO_ROOT, read_json
from harness.run.schema import differences

FORMAT = "ctxbench-tuned/1"
DEFAULT_TUNED = REPO_ROOT / "results" / "tuned.json"
# What a tuned cell takes from the file; everything else keeps TrainOptions' default.
PARAMS = ("learning_rate", "embedding_dim", "batch_size", "logq")

# The code a trial runs: data, splits, features, towers, training and the exact ranking,
# plus the functions of harness.run.cell and harness.run.tuning that a trial calls
# (trial_code_fingerprint). Reports, records, the study loop, the storage and the
# benchmarks' wiring may change without invalidating a tuning; any change here does.
_TRIAL_CODE = ("harness/data", "harness/model", "splits", "harness/evaluation/keys.py",
               "harness/evaluation/metrics.py", "harness/evaluation/ranking.py",
               "harness/evaluation/retrieval.py")
# Under those, what no trial runs: the synthetic tables of the tests and the scaling
# sweep (a trial runs on the loaded data, whose sha256 the tuning records).
_NOT_TRIAL_CODE = ("harness/data/synthetic.py",)


def trial_code_fingerprint(root: Path = REPO_ROOT) -> str:
    """sha256 of the code that computes a tuning trial (:data:`_TRIAL_CODE`)."""
    from harness.run import cell, tuning

    digest = hashlib.sha256()
    for name in _TRIAL_CODE:
        path = root / name
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            if str(file.relative_to(root)) in _NOT_TRIAL_CODE:
                continue
            digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes())
    for function in (cell.prepare_cell, cell.validation_score, cell.fit_cell,
                     tuning.objective, tuning.suggest, tuning.TuneSettings):
        digest.update(inspect.getsource(function).encode())
    space = (tuning.LEARNING_RATE, tuning.EMBEDDING_DIMS, tuning.BATCH_SIZES,
             tuning.TUTORIAL_PARAMS)
    digest.update(repr(space).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class TunedCell:
    """One (split, configuration)'s choice.

    Attributes:
        params: :data:`PARAMS` values.
        epochs: the best trial's best epoch (early stopping on the validation slice).
        validation_score: that trial's validation top-100 accuracy at that epoch.
        trials: trials in the budget; tuning_seconds: their training time.
    """

    split: str
    config: str
    params: dict
    epochs: int
    validation_score: float
    trials: int
    tuning_seconds: float

    def options(self, **overrides) -> TrainOptions:
        """Training options of the tuned protocol: these hyperparameters, trained on the
        whole training split for the chosen epochs, preprocessing fitted on train."""
        values = {"epochs": self.epochs, "fit_on": "train",
                  **{key: self.params[key] for key in PARAMS}}
        return TrainOptions(**{**values, **overrides})

    def provenance(self, file_sha256: str) -> dict:
        """What a tuned cell's record says of its choice."""
        return {"file_sha256": file_sha256, "params": dict(self.params),
                "epochs": self.epochs, "validation_score": self.validation_score,
                "trials": self.trials, "tuning_seconds": self.tuning_seconds}


@dataclass(frozen=True)
class Tuned:
    """A read ``tuned.json``: the cells, what produced them, and the file's sha256."""

    path: Path
    sha256: str
    identity: dict
    cells: dict[tuple[str, str], TunedCell]

    def cell(self, split: str, config: str) -> TunedCell:
        """The choice for (split, configuration); a warm-only split's is its ``warm_of``
        split's (the two share their training side and validation slice)."""
        split = study_split(split)
        try:
            return self.cells[(split, config)]
        except KeyError:
            raise UserError(f"{self.path} has no tuned hyperparameters for {split}/{config}; "
                            f"tune it (python -m harness tune --splits {split} --configs "
                            f"{config})") from None


def study_split(split: str) -> str:
    """The split whose study chooses ``split``'s hyperparameters: itself, or for a
    warm-only split the split it restricts."""
    from splits import SPLITS

    return (SPLITS[split].warm_of if split in SPLITS else None) or split


def identity(data_sha256: str, settings: dict) -> dict:
    """What produced a tuning: a resumed study must share all of it, and a run that uses
    the tuned file its data, code and test fraction (:func:`expected_by_run`)."""
    return {"data_sha256": data_sha256, "code": trial_code_fingerprint(),
            "test_fraction": settings["test_fraction"], "seed": settings["seed"],
            "validation_fraction": settings["validation_fraction"]}


def expected_by_run(data_sha256: str,
                    test_fraction: float = TrainOptions.test_fraction) -> dict:
    """What a benchmark run requires of a tuned file's identity (the grid's test fraction
    is TrainOptions' default)."""
    return {"data_sha256": data_sha256, "code": trial_code_fingerprint(),
            "test_fraction": test_fraction}


def _field(value, kind, where: str):
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
        raise UserError(f"{where} must be {kind.__name__}, got {value!r:.40}")
    return value


def _cell(where: str, entry) -> TunedCell:
    if not isinstance(entry, dict):
        raise UserError(f"{where} must be an object")
    params = entry.get("params")
    if not isinstance(params, dict):
        raise UserError(f"{where}.params must be an object")
    kinds = {"learning_rate": float, "embedding_dim": int, "batch_size": int, "logq": bool}
    checked = {key: _field(params.get(key), kinds[key], f"{where}.params.{key}")
               for key in PARAMS}
    cell = TunedCell(
        split=_field(entry.get("split"), str, f"{where}.split"),
        config=_field(entry.get("config"), str, f"{where}.config"),
        params=checked,
        epochs=_field(entry.get("epochs"), int, f"{where}.epochs"),
        validation_score=_field(entry.get("validation_score"), float,
                                f"{where}.validation_score"),
        trials=_field(entry.get("trials_counted"), int, f"{where}.trials_counted"),
        tuning_seconds=_field(entry.get("tuning_seconds"), float, f"{where}.tuning_seconds"),
    )
    try:
        cell.options()  # the values themselves: positive, finite, in range
    except UserError as error:
        raise UserError(f"{where}: {error}") from None
    if not math.isfinite(cell.validation_score):
        raise UserError(f"{where}.validation_score must be finite")
    return cell


def read_tuned(path: str | Path, expected: dict | None = None) -> Tuned:
    """Reads and checks a ``tuned.json``.

    Args:
        path: the file.
        expected: the parts of :func:`identity` the run that will use it must share
            (its data's sha256, the trial code, the test fraction); a file whose
            identity differs in any of them is refused.

    Raises:
        UserError: missing, not JSON, not a tuned file, malformed, or made on other data,
            code or splits — one line naming the file and the problem.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} does not exist: run `python -m harness tune` (tox -e tune) "
                        "first, or pass --tuned FILE")
    document = read_json(path)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UserError(f"{path} is not a ctxbench tuned file (no \"format\": \"{FORMAT}\")")
    found = document.get("identity")
    if not isinstance(found, dict):
        raise UserError(f"{path}: identity must be an object")
    if expected is not None:
        changed = differences({key: found.get(key) for key in expected}, expected)
        if changed:
            raise UserError(f"{path} was tuned on other data, code or splits ("
                            + "; ".join(changed) + "): tune again (tox -e tune)")
    entries = document.get("cells")
    if not isinstance(entries, dict):
        raise UserError(f"{path}: cells must be an object")
    cells = {}
    for key, entry in entries.items():
        cell = _cell(f"{path}: cells[{key!r}]", entry)
        cells[(cell.split, cell.config)] = cell
    return Tuned(path=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                 identity=found, cells=cells)


__all__ = ["DEFAULT_TUNED", "FORMAT", "PARAMS", "Tuned", "TunedCell", "expected_by_run",
           "identity", "read_tuned", "study_split", "trial_code_fingerprint"]
