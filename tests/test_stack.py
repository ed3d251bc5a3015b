"""The TensorFlow stack imports through harness.tfcompat and trains a TFRS retrieval model."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# In a fresh interpreter with the variable unset: importing tfcompat must set it before
# TensorFlow loads, or importing TFRS fails (it refuses Keras 3).
PROBE = """
import json, os, sys
assert "TF_USE_LEGACY_KERAS" not in os.environ
import harness.tfcompat as tfcompat
print(json.dumps({
    "legacy_keras": os.environ.get("TF_USE_LEGACY_KERAS"),
    "tf": tfcompat.tf.__version__,
    "tf_keras": tfcompat.keras.__version__,
    "tf_dot_keras": tfcompat.tf.keras.__name__,
    "tfrs_imported": "tensorflow_recommenders" in sys.modules,
}))
"""


def test_tfcompat_sets_legacy_keras_before_tensorflow_loads():
    env = {key: value for key, value in os.environ.items() if key != "TF_USE_LEGACY_KERAS"}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            cwd=REPO_ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["legacy_keras"] == "1"
    assert probe["tfrs_imported"]
    minor = ".".join(probe["tf"].split(".")[:2])
    assert probe["tf_keras"].startswith(minor + "."), probe
    assert probe["tf_dot_keras"].startswith("tf_keras"), "tf.keras must be legacy Keras 2"


@pytest.fixture(scope="module")
def stack():
    from harness.tfcompat import keras, tf, tfrs

    return tf, keras, tfrs


def test_importing_tfcompat_in_process(stack):
    tf, keras, _ = stack
    assert os.environ["TF_USE_LEGACY_KERAS"] == "1"
    assert keras.__version__.split(".")[:2] == tf.__version__.split(".")[:2]


def test_tiny_tfrs_retrieval_model_trains_with_decreasing_finite_loss(stack):
    tf, keras, tfrs = stack
    tf.random.set_seed(0)
    rng = np.random.default_rng(0)
    n_users, n_movies, n_rows = 8, 12, 48
    users = rng.integers(0, n_users, n_rows)
    # Each user prefers a few movies, so there is something to learn.
    movies = (users * 3 + rng.integers(0, 3, n_rows)) % n_movies
    dataset = tf.data.Dataset.from_tensor_slices({
        "user_id": tf.constant([str(u) for u in users]),
        "movie_id": tf.constant([str(m) for m in movies]),
    }).batch(n_rows)  # one full batch: the epoch loss is not one noisy batch

    def tower(vocabulary):
        return keras.Sequential([
            keras.layers.StringLookup(vocabulary=vocabulary, mask_token=None),
            keras.layers.Embedding(len(vocabulary) + 1, 8),
        ])

    class TwoTower(tfrs.models.Model):
        def __init__(self):
            super().__init__()
            self.user_model = tower([str(u) for u in range(n_users)])
            self.movie_model = tower([str(m) for m in range(n_movies)])
            self.task = tfrs.tasks.Retrieval()

        def compute_loss(self, features, training=False):
            return self.task(self.user_model(features["user_id"]),
                             self.movie_model(features["movie_id"]))

    model = TwoTower()
    model.compile(optimizer=keras.optimizers.Adagrad(learning_rate=0.5))
    history = model.fit(dataset, epochs=5, verbose=0).history["loss"]
    assert len(history) == 5
    assert all(math.isfinite(loss) for loss in history), history
    assert history[-1] < history[0], history
    assert history[0] > 0
