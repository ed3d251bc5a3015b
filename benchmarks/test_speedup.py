"""The harness against the TFRS tutorial it replaces, side by side on the same data.

Same rows (random 80/20 split, seed 0), same ``timestamp`` configuration, same epochs,
preprocessing fitted on all rows as the tutorial does, one process. Targets, reported
and never asserted: training at least 20x and evaluation at least 100x the tutorial's
throughput.

Each side pays its own graph tracing (a new model traces its train step; that is what
running a cell costs), but neither pays TensorFlow's once-per-process start-up: a tiny
run of each side on 2% of the users warms the runtime first. Evaluation is timed on
each side as the first call (tracing included, the headline) and as the median of
WARM_EVALS further calls (the tutorial's evaluation speed varies by a quarter from call
to call on a shared machine; a median of several is steadier than one).

The two sides run ROUNDS times, interleaved (tutorial, harness, tutorial, harness, ...),
each round a fresh model on each side, and each ratio reported is the median of the
rounds' ratios, every round's recorded beside it: a stall of the machine in one round
does not make the headline. What rounds in one process cannot remove is the tutorial
side's drift from process to process (the harness side does not drift so:
docs/performance.md), so the ratio quoted is that of the run it comes from.
"""

from __future__ import annotations

import gc
import time

import numpy as np
import pytest

from harness.data.sources import subsample_users
from harness.evaluation.keys import accuracy_key
from harness.record.kinds import SpeedupRecord, SpeedupRound
from splits import make_split

SPLIT, CONFIG, SEED = "random", "timestamp", 0
TARGETS = {"train_speedup": 20.0, "eval_speedup": 100.0}
TOP_100 = accuracy_key(100)
WARM_UP_USER_FRACTION = 0.02
WARM_EVALS = 3
ROUNDS = 3


def _warm_up(data) -> None:
    """Runs both sides once on a sliver of users, so neither pays process start-up.

    Per-model costs (building, tracing the train step and the evaluation) are still
    paid by each side in the timed run: they are part of what running a cell costs.
    """
    from harness.model.training import TrainOptions  # TensorFlow: not at collection
    from harness.model.tutorial import run_reference
    from harness.run.cell import run_cell

    sliver = subsample_users(data, WARM_UP_USER_FRACTION, seed=SEED)
    split = make_split(SPLIT, sliver.ratings["user_id"], sliver.ratings["timestamp"],
                       seed=SEED)
    run_reference(sliver, split.train, split.test, seed=SEED, epochs=1)
    run_cell(sliver, SPLIT, CONFIG, SEED, TrainOptions(epochs=1, fit_on="all"))


def _softmax_seconds_per_step(batch_size: int, embedding_dim: int, steps: int = 20,
                              repeats: int = 5) -> float:
    """Seconds one training step spends in the in-batch softmax, measured alone.

    The part of the step that grows with the batch squared: the in-batch scores, the
    loss and its gradients with respect to the query and candidate embeddings
    (:func:`~harness.model.loss.in_batch_softmax`, no logQ correction, no accidental
    hits), on random embeddings of the step's shape. A compiled loop of ``steps`` steps,
    the median of ``repeats`` timed calls after a warm-up, divided by ``steps``. Its
    share of a measured step is what a faster loss kernel could buy at most; the rest
    (tower gathers, title-word pooling, Adagrad updates) does not grow with the batch.
    """
    from harness.model.loss import in_batch_softmax  # TensorFlow: not at collection
    from harness.tfcompat import tf

    rng = np.random.default_rng(0)
    query, candidate = (tf.constant(rng.standard_normal((batch_size, embedding_dim),
                                                        dtype=np.float32) * 0.3)
                        for _ in range(2))

    @tf.function
    def loop():
        total = tf.constant(0.0)
        for _ in tf.range(steps):
            # One step at a time, as in training (the steps are independent here).
            tf.autograph.experimental.set_loop_options(parallel_iterations=1)
            with tf.GradientTape() as tape:
                tape.watch([query, candidate])
                loss = in_batch_softmax(query, candidate)
            grad_query, grad_candidate = tape.gradient(loss, [query, candidate])
            total += loss + grad_query[0, 0] + grad_candidate[0, 0]  # keeps them computed
        return total

    loop().numpy()  # trace and warm up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        loop().numpy()
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds)) / steps


def test_speedup_over_tutorial(benchmark, request):
    if request.config.getoption("no_speedup") or request.config.getoption("quick"):
        pytest.skip("the side-by-side speedup benchmark is off with --no-speedup / --quick")
    from harness.model.training import TrainOptions  # TensorFlow: only when it runs
    from harness.model.tutorial import run_reference
    from harness.run.cell import fit_cell
    from harness.run.evaluate import evaluate_cell
    from harness.run.prepare import prepare_cell

    grid_run = request.getfixturevalue("grid_run")  # only now: it loads the data
    benchmark.group = "speedup"
    data = grid_run.data
    options = TrainOptions(epochs=grid_run.grid.epochs, fit_on="all")
    split = make_split(SPLIT, data.ratings["user_id"], data.ratings["timestamp"],
                       test_fraction=options.test_fraction, seed=SEED)

    _warm_up(data)
    cell = prepare_cell(data, SPLIT, CONFIG, SEED, options)
    assert np.array_equal(cell.split.train, split.train)  # both sides see the same rows
    assert np.array_equal(cell.split.test, split.test)
    references, fits = [], []

    def tutorial_round():  # pedantic's untimed setup: the tutorial's side of the round
        gc.collect()  # neither side's timing should pay for the other's garbage
        references.append(run_reference(
            data, split.train, split.test, seed=SEED, use_timestamps=cell.config.timestamp,
            epochs=options.epochs, warm_evals=WARM_EVALS))
        gc.collect()
        return (cell,), {}

    def harness_round(prepared):
        fits.append(fit_cell(prepared))

    benchmark.pedantic(harness_round, setup=tutorial_round, rounds=ROUNDS, iterations=1)
    rounds, metrics_by_round = [], []
    for reference, trained in zip(references, fits, strict=True):
        metrics, harness_timings = evaluate_cell(cell, trained)  # its first call
        metrics_by_round.append(metrics)
        harness_warm_qps = float(np.median([
            evaluate_cell(cell, trained, prefixes=("test",))[1]["queries_per_second"]
            for _ in range(WARM_EVALS)]))
        rounds.append({
            "reference_train_seconds": reference.train_seconds,
            "harness_train_seconds": trained.seconds,
            "reference_examples_per_second": reference.examples_per_second,
            "harness_examples_per_second": trained.examples_per_second,
            "reference_eval_seconds": reference.eval_seconds,
            "harness_eval_seconds": harness_timings["eval_seconds"],
            "reference_queries_per_second": reference.queries_per_second,
            "harness_queries_per_second": harness_timings["queries_per_second"],
            "reference_warm_queries_per_second": reference.warm_queries_per_second,
            "harness_warm_queries_per_second": harness_warm_qps,
            "train_speedup": trained.examples_per_second / reference.examples_per_second,
            "eval_speedup": (harness_timings["queries_per_second"]
                             / reference.queries_per_second),
            "warm_eval_speedup": harness_warm_qps / reference.warm_queries_per_second,
        })
    median = {key: float(np.median([r[key] for r in rounds])) for key in rounds[0]}
    train_speedup, eval_speedup = median["train_speedup"], median["eval_speedup"]
    warm_eval_speedup = median["warm_eval_speedup"]
    # The share of the harness's training time that grows with the batch squared.
    steps = -(-int(split.train.size) // options.batch_size) * options.epochs
    softmax_seconds = _softmax_seconds_per_step(options.batch_size,
                                                cell.fitted.config.embedding_dim)
    harness_step_seconds = median["harness_train_seconds"] / steps
    # Every round trains the same seeded models on the same rows: round one's accuracy.
    reference, harness_metrics = references[0], metrics_by_round[0]
    record = SpeedupRecord(
        split=SPLIT, config=CONFIG, seed=SEED,
        fit_on=options.fit_on, epochs=options.epochs,
        n_train=int(split.train.size), n_test=int(split.test.size),
        # each side's rates and seconds, and each ratio: the rounds' medians
        median=SpeedupRound(**median),
        rounds=tuple(SpeedupRound(**r) for r in rounds), warm_evals=WARM_EVALS,
        batch_size=options.batch_size, harness_steps=steps,
        harness_seconds_per_step=harness_step_seconds,
        softmax_seconds_per_step=softmax_seconds,
        softmax_share=softmax_seconds / harness_step_seconds,
        targets=TARGETS,
        targets_met={"train_speedup": train_speedup >= TARGETS["train_speedup"],
                     "eval_speedup": eval_speedup >= TARGETS["eval_speedup"]},
        reference_top_100=reference.metrics[TOP_100],
        harness_top_100=harness_metrics[TOP_100],
        reference_metrics=reference.metrics,
        harness_metrics={k: v for k, v in harness_metrics.items() if k.startswith("test/")},
        data_source=data.source, data_sha256=data.sha256, **grid_run.env,
    )
    benchmark.extra_info.update(record.to_dict())
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():  # else pytest swallows the line
        per_round = ", ".join(f"{r['train_speedup']:.1f}x" for r in rounds)
        reporter.write_line(
            f"\nctxbench speedup (median of {ROUNDS} interleaved rounds): training "
            f"{train_speedup:.1f}x ({median['harness_examples_per_second']:,.0f} vs "
            f"{median['reference_examples_per_second']:,.0f} examples/s, rounds {per_round}, "
            f"target {TARGETS['train_speedup']:.0f}x), evaluation "
            f"{eval_speedup:.1f}x ({median['harness_queries_per_second']:,.0f} vs "
            f"{median['reference_queries_per_second']:,.0f} queries/s, target "
            f"{TARGETS['eval_speedup']:.0f}x; warm {warm_eval_speedup:.1f}x); test top-100 "
            f"{harness_metrics[TOP_100]:.4f} (harness) vs {reference.metrics[TOP_100]:.4f} "
            f"(tutorial); in-batch softmax {softmax_seconds * 1e3:.1f} of "
            f"{harness_step_seconds * 1e3:.1f} ms a step "
            f"({softmax_seconds / harness_step_seconds:.0%})")
