"""A tuning worker for the tests: ``python tests/tuning_worker.py STORAGE READY_DIR WORKER
WORKERS OUT`` joins the study ``random-baseline`` in STORAGE with a cheap objective, once
all WORKERS workers are ready, and writes the study's summary to OUT.

The objective stands in for training (which the study loop does not care about): it
sleeps, so that workers overlap, and records which process ran each trial.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from harness.data.synthetic import synthetic_movielens
from harness.run.tuning import TuneSettings, open_storage, suggest, tune_study

SETTINGS = TuneSettings(trials=8, startup_trials=3)


def cheap_objective(data, split, config, settings, seed=None, seconds: float = 0.3):
    def run(trial):
        params = suggest(trial)
        trial.set_user_attr("pid", os.getpid())
        time.sleep(seconds)
        value = 1.0 - abs(math.log10(params["learning_rate"]) + 1.0) / 4
        trial.set_user_attr("epoch_scores", [value])
        trial.set_user_attr("best_epoch", 1)
        trial.set_user_attr("seconds", seconds)
        return value
    return run


def small_table():
    return synthetic_movielens(np.random.default_rng(0), n_interactions=400, n_items=30,
                               n_users=20)


def main(storage: str, ready: str, worker: int, workers: int, out: str) -> None:
    ready_dir = Path(ready)
    (ready_dir / f"{worker}").touch()
    deadline = time.monotonic() + 120
    while len(list(ready_dir.iterdir())) < workers and time.monotonic() < deadline:
        time.sleep(0.05)
    summary = tune_study(small_table(), "random", "baseline", SETTINGS,
                         open_storage(storage), worker=worker, objective_of=cheap_objective)
    Path(out).write_text(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
