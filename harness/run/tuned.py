"""``tuned.json``: each study's hyperparameters (a (split, configuration)'s, and a seeded
split's per grid seed), chosen on its validation slice by ``python -m harness tune``
(:mod:`harness.run.tuning`), read back by the tuned protocol (``pytest benchmarks
--protocol tuned``) and ``python -m harness budget``.

The file says what produced it (:func:`harness.record.fingerprint.tuning_identity`: the
suite version, the data's sha256, the tuning settings and search space, each tuned
split's and configuration's description), and :func:`read_tuned` refuses one made under
another suite version, on other data or with another search, :meth:`Tuned.cell` one whose
split or configuration the code describes otherwise, with one line saying what differs and
the command that tunes the user's own data. Neither Optuna nor TensorFlow is imported
here: the benchmarks read the file without them.
"""

from __future__ import annotations

import hashlib
import math
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.data.table import DEFAULT_DATASET
from harness.errors import UserError
from harness.record.files import read_json
from harness.record.fingerprint import changed_descriptions, differences
from harness.record.provenance import current_suite_version
from harness.run.tunespace import (
    PARAMS,
    TuneSettings,
    outside_space,
    search,
    study_name,
    study_seed,
)

if TYPE_CHECKING:
    from harness.model.training import TrainOptions

FORMAT = "ctxbench-tuned/2"
# Formats whose identity hashed the trial code's bytes instead of describing what it does:
# refused, with the command that tunes again.
OLD_FORMATS = ("ctxbench-tuned/1",)
# Where `python -m harness tune` writes and the tuned protocol reads by default: relative to
# the working directory, as every path the CLI and the benchmarks are given.
DEFAULT_TUNED = Path("results", "tuned.json")


@dataclass(frozen=True)
class TunedCell:
    """One study's choice: a (split, configuration)'s, and a seeded split's per seed.

    Attributes:
        seed: the grid seed it chooses for (a seeded split's), or None: every seed.
        params: :data:`PARAMS` values.
        epochs: the best trial's best epoch (early stopping on the validation slice).
        validation_score: that trial's validation top-100 accuracy at that epoch.
        trials: trials in the budget; tuning_seconds: their training time.
    """

    split: str
    config: str
    seed: int | None
    params: dict
    epochs: int
    validation_score: float
    trials: int
    tuning_seconds: float

    def options(self, **overrides) -> TrainOptions:
        """Training options of the tuned protocol: these hyperparameters, trained on the
        whole training split for the chosen epochs, preprocessing fitted on train."""
        from harness.model.training import TrainOptions  # loads TensorFlow: only to train

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
    """A read ``tuned.json``: the cells, what produced them, the file's sha256, and the
    dataset the run that reads it uses (its refusals name the command that tunes it)."""

    path: Path
    sha256: str
    identity: dict
    cells: dict[tuple[str, str, int | None], TunedCell]
    dataset: str = DEFAULT_DATASET

    def cell(self, split: str, config: str, seed: int) -> TunedCell:
        """The choice for (split, configuration) at grid seed ``seed``: its own study's
        (:func:`harness.run.tunespace.study_seed`: a seeded split's per seed).

        Raises:
            UserError: the file has no such study, or its split or configuration was
                tuned under another description than the code's (naming what differs).
        """
        key = (split, config, study_seed(split, seed))
        try:
            chosen = self.cells[key]
        except KeyError:
            per_seed = ("" if key[2] is None else " (a seeded split is tuned per seed: "
                        f"tune --seeds {seed + 1} or more)")
            raise UserError(f"{self.path} has no tuned hyperparameters for "
                            f"{study_name(*key)}{per_seed}; "
                            f"{tune_again(self.dataset, self.path)}") from None
        changed = changed_descriptions(self.identity, split, config)
        if changed:
            raise UserError(f"{self.path}: {split}/{config} was tuned under another "
                            f"description of its split or configuration ({'; '.join(changed)})"
                            f": {tune_again(self.dataset, self.path)}")
        return chosen


def tune_command(dataset: str, path: str | Path) -> str:
    """The command that tunes every split and configuration of ``dataset`` into ``path``:
    ``--dataset`` and ``--out`` are named unless they are the defaults, and
    ``--overwrite`` when ``path`` exists."""
    words = ["python", "-m", "harness", "tune"]
    if dataset != DEFAULT_DATASET:
        words += ["--dataset", dataset]
    if Path(path).resolve() != DEFAULT_TUNED.resolve():
        words += ["--out", str(path)]
    if Path(path).exists():
        words.append("--overwrite")
    return shlex.join(words)


def tune_again(dataset: str, path: str | Path) -> str:
    """Advice for a tuned file that cannot be used: for the default dataset written to
    the default file ``tox -e tune``; otherwise the command that tunes the user's own
    dataset into their own file."""
    if dataset == DEFAULT_DATASET and Path(path).resolve() == DEFAULT_TUNED.resolve():
        return "tune again (tox -e tune)"
    return f"tune again ({tune_command(dataset, path)})"


def expected_by_run(data_sha256: str,
                    test_fraction: float = TuneSettings.test_fraction) -> dict:
    """What a benchmark run requires of a tuned file's identity: this suite version, its
    data, and choices made by the current search at its test fraction (the grid's:
    ``splits.TEST_FRACTION``, TrainOptions' and TuneSettings' default). The budget
    (trials, epochs, patience, seeds) is the tuner's choice, recorded in the file, and
    not required."""
    return {"suite_version": current_suite_version(), "data_sha256": data_sha256,
            "settings": {"test_fraction": test_fraction, **search()}}


def _restricted(found, expected):
    """``found`` cut to the keys ``expected`` has, at every depth of nested objects."""
    if not isinstance(expected, dict) or not isinstance(found, dict):
        return found
    return {key: _restricted(found.get(key), value) for key, value in expected.items()}


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
    outside = outside_space(checked)
    if outside is not None:
        raise UserError(f"{where}.params: {outside}")
    seed = entry.get("seed")
    cell = TunedCell(
        split=_field(entry.get("split"), str, f"{where}.split"),
        config=_field(entry.get("config"), str, f"{where}.config"),
        seed=None if seed is None else _field(seed, int, f"{where}.seed"),
        params=checked,
        epochs=_field(entry.get("epochs"), int, f"{where}.epochs"),
        validation_score=_field(entry.get("validation_score"), float,
                                f"{where}.validation_score"),
        trials=_field(entry.get("trials_counted"), int, f"{where}.trials_counted"),
        tuning_seconds=_field(entry.get("tuning_seconds"), float, f"{where}.tuning_seconds"),
    )
    if cell.epochs < 1:
        raise UserError(f"{where}.epochs must be a positive integer, got {cell.epochs}")
    if not math.isfinite(cell.validation_score):
        raise UserError(f"{where}.validation_score must be finite")
    return cell


def read_tuned(path: str | Path, expected: dict | None = None,
               dataset: str = DEFAULT_DATASET) -> Tuned:
    """Reads and checks a ``tuned.json``.

    Args:
        path: the file.
        expected: what the run that will use it requires of its identity, as nested
            objects (:func:`expected_by_run`: the suite version, its data's sha256, the
            test fraction and the search); keys it does not name are not compared.
        dataset: the dataset the run uses (a registered name or ``interactions:PATH``):
            a refusal names the command that tunes it.

    Raises:
        UserError: missing, not JSON, not a tuned file, of a format whose identity is
            the source's bytes (:data:`OLD_FORMATS`), malformed, or made under another
            identity — one line naming the file, the problem and what to run.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} does not exist: run `{tune_command(dataset, path)}` first, "
                        "or pass --tuned FILE")
    document = read_json(path)
    if isinstance(document, dict) and document.get("format") in OLD_FORMATS:
        raise UserError(f"{path} predates behavioural fingerprints ({document['format']}: "
                        f"valid only for the source bytes it was tuned with): "
                        f"{tune_again(dataset, path)}, or migrate its identity as "
                        "results/tuned.json's was (git log -- results/tuned.json)")
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UserError(f"{path} is not a ctxbench tuned file (no \"format\": \"{FORMAT}\")")
    found = document.get("identity")
    if not isinstance(found, dict):
        raise UserError(f"{path}: identity must be an object")
    if expected is not None:
        changed = differences(_restricted(found, expected), expected)
        if changed:
            raise UserError(f"{path} was tuned on other data, under another suite version "
                            "or with another search (" + "; ".join(changed) + "): "
                            + tune_again(dataset, path))
    entries = document.get("cells")
    if not isinstance(entries, dict):
        raise UserError(f"{path}: cells must be an object")
    cells = {}
    for key, entry in entries.items():
        cell = _cell(f"{path}: cells[{key!r}]", entry)
        cells[(cell.split, cell.config, cell.seed)] = cell
    return Tuned(path=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                 identity=found, cells=cells, dataset=dataset)


__all__ = ["DEFAULT_TUNED", "FORMAT", "OLD_FORMATS", "Tuned", "TunedCell",
           "expected_by_run", "read_tuned", "tune_again", "tune_command"]
