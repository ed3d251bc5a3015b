"""The machine's GEMM rate: how fast this machine's TensorFlow builds the training step's
score matrix, recorded beside the machine (:mod:`harness.record.machine`) once per session.

It needs TensorFlow, so it lives with the run rather than in the TensorFlow-free record.
"""

from __future__ import annotations

import time

from harness.record.machine import GEMM_SHAPE


def gemm_gflops(repeats: int = 15) -> float:
    """TensorFlow's float32 GFLOP/s on the training step's [2048, 32] x [32, 2048] matmul.

    The median of ``repeats`` timed calls after a warm-up: the rate at which this
    machine's TensorFlow builds the in-batch score matrix, the step's largest part.
    """
    import numpy as np

    from harness.tfcompat import tf

    rows, depth, cols = GEMM_SHAPE
    rng = np.random.default_rng(0)
    left = tf.constant(rng.standard_normal((rows, depth), dtype=np.float32))
    right = tf.constant(rng.standard_normal((cols, depth), dtype=np.float32))
    product = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b, transpose_b=True)))
    product(left, right).numpy()  # trace and warm up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        product(left, right).numpy()
        seconds.append(time.perf_counter() - start)
    return 2 * rows * depth * cols / float(np.median(seconds)) / 1e9


__all__ = ["gemm_gflops"]
