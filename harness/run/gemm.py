"""The machine's rates: how fast this machine's TensorFlow builds the training step's
score matrix (its GEMM rate, recorded beside the machine, :mod:`harness.record.machine`,
once per session), and how long it takes to invert a dense catalogue matrix (what turns
EASE^R's measured cost into seconds before a grid starts).

The GEMM rate needs TensorFlow, so it lives with the run rather than in the
TensorFlow-free record.
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


# The largest inversion timed (0.3 s on a 2-core EPYC): a larger catalogue's is
# extrapolated by the cube of its size. A smaller size would understate the rate: LAPACK
# runs faster per operation on larger matrices.
INVERSION_SIZE = 3000


def inversion_seconds(size: int = INVERSION_SIZE, repeats: int = 2) -> tuple[int, float]:
    """(size, seconds): the fastest of ``repeats`` Cholesky inversions (LAPACK dpotrf then
    dpotri, as EASE^R's fit does) of a dense float64 positive definite matrix of
    ``size`` (at most :data:`INVERSION_SIZE`)."""
    size = max(1, min(size, INVERSION_SIZE))
    import numpy as np
    from scipy.linalg import lapack

    rng = np.random.default_rng(0)
    square = rng.standard_normal((size, size))
    gram = square @ square.T + size * np.eye(size)
    seconds = []
    for _ in range(repeats):
        matrix = np.array(gram, order="F")
        start = time.perf_counter()
        factor, _ = lapack.dpotrf(matrix, lower=False, overwrite_a=True)
        lapack.dpotri(factor, lower=False, overwrite_c=True)
        seconds.append(time.perf_counter() - start)
    return size, min(seconds)


__all__ = ["INVERSION_SIZE", "gemm_gflops", "inversion_seconds"]
