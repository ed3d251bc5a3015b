"""Training under ``tf.distribute.MirroredStrategy`` gives the same metrics, within noise.

Logical devices must be configured before TensorFlow initialises its runtime, which the
test process has usually done already, so both runs happen in a fresh subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from harness.evaluation.keys import DEFAULT_KS
from harness.run.records import REPO_ROOT

SCRIPT = textwrap.dedent("""
    import json

    import numpy as np

    from harness.tfcompat import tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from harness.run.cell import run_cell
    from harness.data.synthetic import synthetic_movielens
    from harness.model.training import TrainOptions

    data = synthetic_movielens(np.random.default_rng(0), n_users=300, n_items=500,
                               n_interactions=20_000)
    options = TrainOptions(epochs=3, batch_size=512)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {
        "replicas": strategy.num_replicas_in_sync,
        "single": run_cell(data, "random", "timestamp", 0, options, env={}).metrics,
        "mirrored": run_cell(data, "random", "timestamp", 0, options, env={},
                             strategy=strategy).metrics,
    }
    print(json.dumps(results))
""")

# Tolerance on each top-k accuracy. The mirrored run is not the same computation: each
# replica's in-batch softmax sees its own 256 rows (256 negatives instead of 512) and
# gradients are summed in another order, so it behaves like another training run of the
# same cell. Run-to-run spread at this size: the binomial standard error of a hit rate
# on 4000 test rows is at most sqrt(0.25 / 4000) = 0.008, so the difference of two
# runs has a standard deviation of at most 0.011 and 0.035 is about three of those.
# Measured (this cell, seeds 0-2): differences of at most 0.016 between the two runs.
# A broken distributed fit (no learning, or replicas not synchronised) moves top-50
# from about 0.99 to under 0.2 and fails this comfortably.
TOLERANCE = 0.035


@pytest.mark.slow
def test_mirrored_strategy_matches_single_device():
    completed = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-4000:]
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    assert results["replicas"] == 2
    for k in DEFAULT_KS:
        key = f"test/top_{k}_categorical_accuracy"
        single, mirrored = results["single"][key], results["mirrored"][key]
        assert abs(single - mirrored) <= TOLERANCE, (key, single, mirrored)
    # Both learned: far above the 50 / 500 a random ranking gets.
    assert results["single"]["test/top_50_categorical_accuracy"] > 0.5
    assert results["mirrored"]["test/top_50_categorical_accuracy"] > 0.5
