"""The one place TensorFlow is imported.

TFRS 0.7.x refuses Keras 3, so ``TF_USE_LEGACY_KERAS=1`` must be set before TensorFlow
is first imported; this module does that, then exposes ``tf``, ``keras`` (tf-keras) and
``tfrs``. Every module that needs TensorFlow imports it from here.
"""

from __future__ import annotations

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep oneDNN/CUDA banners off stderr

import tensorflow as tf  # noqa: E402

from harness.scanncompat import without_tf_ops  # noqa: E402

# TFRS imports ScaNN's TensorFlow ops when scann (the serving extra) is installed and
# catches only ImportError; ops built for another TensorFlow raise NotFoundError instead
# (harness.scanncompat explains). Import them here first, and on that error keep scann's
# numpy API only, so that TFRS still imports.
try:
    import scann  # noqa: E402, F401
except ImportError:
    pass
except tf.errors.NotFoundError:
    without_tf_ops()

import tensorflow_recommenders as tfrs  # noqa: E402
import tf_keras as keras  # noqa: E402

if not keras.__version__.startswith(".".join(tf.__version__.split(".")[:2])):
    raise ImportError(
        f"tf-keras {keras.__version__} does not match TensorFlow {tf.__version__}: "
        "install the tf-keras release with the same minor version"
    )

__all__ = ["keras", "tf", "tfrs"]
