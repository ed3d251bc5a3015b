"""The report's sections of the measurements beside the grid: the speed-up over the
tutorial's code, the scaling sweep with the MovieLens-25M-shaped point, the serving
retrievers, and the benchmarks no record type describes.

Each section reads the run's typed records (:attr:`harness.record.runs.Run.measurements`,
:mod:`harness.record.kinds`) by their type, and returns Markdown lines with its tables as
:class:`Table` values among them (rendered by :mod:`harness.report.report`)."""

from __future__ import annotations

from harness.record.cell import TUTORIAL
from harness.record.kinds import (
    KINDS_BY_NAME,
    DatasetScaleRecord,
    ScalingRecord,
    ServingRecord,
    SpeedupRecord,
)
from harness.record.machine import describe
from harness.record.runs import Run
from harness.report.format import MISSING, fmt_float, fmt_rate, is_number
from harness.report.scaling import (
    SERVING_HEADERS,
    dataset_scale_rows,
    scaling_rows,
    scaling_slopes,
    serving_rows,
)
from harness.report.tables import Table


def _speedup_rows(record: SpeedupRecord) -> list[list[str]]:
    """(measure, tutorial, harness, speed-up, target) rows; targets are keyed by the ratio's
    field name (``train_speedup``)."""
    median = record.median
    rows = []
    for label, reference, harness, ratio, name in (
        ("training, examples/s", median.reference_examples_per_second,
         median.harness_examples_per_second, median.train_speedup, "train_speedup"),
        ("evaluation, queries/s (first call)", median.reference_queries_per_second,
         median.harness_queries_per_second, median.eval_speedup, "eval_speedup"),
        ("evaluation, queries/s (warm: median of later calls)",
         median.reference_warm_queries_per_second, median.harness_warm_queries_per_second,
         median.warm_eval_speedup, "warm_eval_speedup"),
    ):
        target = record.targets.get(name)
        rows.append([label, fmt_rate(reference), fmt_rate(harness),
                     f"{ratio:.1f}x" if is_number(ratio) else MISSING,
                     f"{target:g}x" if is_number(target) else MISSING])
    rows.append(["test top-100 accuracy", fmt_float(record.reference_top_100),
                 fmt_float(record.harness_top_100), MISSING, MISSING])
    return rows


def speedup_section(run: Run) -> list[str | Table]:
    """Markdown lines: the side-by-side tutorial-reference benchmark, if it ran."""
    lines = []
    for record in run.measured(SpeedupRecord):
        lines += [
            "## Speed-up over the tutorial's code",
            "",
            f"The tutorial's model, training loop and `model.evaluate` "
            f"(`harness/model/tutorial.py`) against the harness, same process, same "
            f"rows: {record.split} split seed {record.seed}, "
            f"`{record.config}`, {record.epochs} epochs, fit_on="
            f"{record.fit_on}. Measured side by side, never quoted.",
            "",
            f"Machine: {describe(run.provenance.get('machine')) or run.provenance.get('cpu')}"
            f". The ratio holds for this machine only: the tutorial's code is bound by "
            f"per-step overhead, the harness by arithmetic and memory traffic, so the "
            f"ratio grows with wider vector units and larger caches.",
            "",
            Table("speedup", f"Speed-up of the harness over the tutorial's code "
                  f"({record.split} split, seed {record.seed} only, "
                  f"{record.config}, {record.epochs} epochs)",
                  ["", "tutorial", "harness", "speed-up", "target"], _speedup_rows(record),
                  fit_on=record.fit_on,
                  protocol=TUTORIAL),  # the tutorial's hyperparameters, whatever the grid ran
            "",
            *_rounds_lines(record),
            *_softmax_share_lines(record),
        ]
    return lines


def _rounds_lines(record: SpeedupRecord) -> list[str]:
    """Each round's ratios, when the ratios above are medians of interleaved rounds."""
    rounds = record.rounds
    if not (rounds and all(
            is_number(value) for r in rounds
            for value in (r.train_speedup, r.eval_speedup, r.reference_train_seconds,
                          r.harness_train_seconds))):
        return []

    def spread(values: list[float], unit: str = "x", digits: int = 1) -> str:
        values = sorted(values)
        return f"{values[0]:.{digits}f}{unit}–{values[-1]:.{digits}f}{unit}"

    ratios = ", ".join(f"{r.train_speedup:.1f}x" for r in rounds)
    reference = spread([r.reference_train_seconds for r in rounds], unit=" s")
    harness = spread([r.harness_train_seconds for r in rounds], unit=" s", digits=2)
    return [f"Each speed-up is the median of {len(rounds)} interleaved rounds (tutorial, "
            f"harness, tutorial, ...; a fresh model on each side every round). Training "
            f"per round: {ratios} (the tutorial's {record.epochs} epochs "
            f"{reference}, the harness's {harness}); evaluation (first "
            f"call) {spread([r.eval_speedup for r in rounds])}.", ""]


def _softmax_share_lines(record: SpeedupRecord) -> list[str]:
    """The harness's training step split: the in-batch softmax against the rest."""
    softmax, step = record.softmax_seconds_per_step, record.harness_seconds_per_step
    if not (is_number(softmax) and is_number(step) and step > 0):
        return []
    return [f"Where the harness's training step goes (batch {record.batch_size}): "
            f"{step * 1e3:.1f} ms a step (the timed training over its "
            f"{record.harness_steps} steps, tracing included), of which the in-batch "
            f"softmax (score matmul, loss, its gradient and the two gradient matmuls, "
            f"timed alone on random embeddings) takes {softmax * 1e3:.1f} ms "
            f"({softmax / step:.0%}); the rest (tower gathers, title-word pooling, Adagrad "
            f"updates) does not grow with the batch.", ""]


def scaling_section(run: Run) -> list[str | Table]:
    """Markdown lines: the synthetic scaling sweep (``--scaling``), if it ran."""
    points = run.measured(ScalingRecord)
    lines = _dataset_scale_lines(run)
    if not points:
        return ["## Scaling", "", *lines] if lines else []
    headers, rows = scaling_rows(points)
    slopes = scaling_slopes(points)
    # Synthetic data: the run's data, seeds and epochs do not apply (its caption says so).
    table = Table("scaling", "Scaling sweep on synthetic data (1 epoch, baseline, random "
                  "80/20 split; the run's fields that follow do not describe the sweep)",
                  headers, rows,
                  colalign=["right"] * len(headers))
    return ["## Scaling (synthetic data, 1 epoch, `baseline`)", "", table, "",
            *([*slopes, ""] if slopes else []), *lines]


def _dataset_scale_lines(run: Run) -> list[str | Table]:
    """The MovieLens-25M-shaped load and cell (``--dataset-scale``), if it ran."""
    points = run.measured(DatasetScaleRecord)
    if not points:
        return []
    table = Table("dataset_scale", "A MovieLens-25M-shaped dataset (synthetic GroupLens "
                  "CSVs): load, random split, one epoch of baseline, exact evaluation",
                  ["measure", "value"], dataset_scale_rows(points[-1]),
                  colalign=["left", "right"])
    return ["### MovieLens-25M shape: load, split, one cell", "",
            "The `movielens-25m` loader on synthetic files of its shape, in a process of "
            "its own (peak RSS includes TensorFlow's ~0.9 GiB).", "", table, ""]


def serving_section(run: Run) -> list[str | Table]:
    """Markdown lines: the serving retrievers against catalogue size, if they ran."""
    points = run.measured(ServingRecord)
    if not points:
        return []
    rows, notes = serving_rows(points)
    table = Table("serving", "Serving retrievers on synthetic clustered embeddings, top 100 "
                  "(the run's fields that follow do not describe the sweep)",
                  SERVING_HEADERS, rows)
    return ["## Serving (synthetic clustered embeddings, top 100)", "",
            "Each retriever over the same embeddings, timed in turns in one process "
            "(median of the timed searches); recall@100 against the exact top 100; "
            "index MiB: the catalogue as the retriever holds it (ScaNN: its serialised "
            "searcher); build RSS: resident memory the build added.", "",
            table, "", *([*notes, ""] if notes else [])]


def other_section(run: Run) -> list[str | Table]:
    """Markdown lines: benchmark entries that are neither cells nor records, as recorded
    (none when there are none), and a note for each kind the report does not know."""
    if not run.other:
        return []
    rows = []
    unknown: dict[str, list[str]] = {}
    for other in run.other:
        entry = other.entry
        extra = entry.get("extra_info") if isinstance(entry.get("extra_info"), dict) else {}
        stats = entry.get("stats") if isinstance(entry.get("stats"), dict) else {}
        median = stats.get("median")
        simple = [
            f"{k}={v}"
            for k, v in sorted(extra.items())
            if isinstance(v, (str, int, float, bool)) or v is None
        ]
        rows.append(
            [
                entry.get("name", MISSING),
                fmt_float(median, 4) if isinstance(median, (int, float)) else MISSING,
                ", ".join(simple) or MISSING,
            ]
        )
        if other.unknown_kind is not None:
            unknown.setdefault(other.unknown_kind, []).append(str(other.name))
    notes = [f"Unknown entry kind `{kind}` ({', '.join(names)}): listed as recorded; this "
             f"ctxbench reads the kinds {', '.join(sorted(KINDS_BY_NAME))} beside its cells."
             for kind, names in unknown.items()]
    return [
        "## Other benchmarks",
        "",
        Table("other_benchmarks", "Other benchmarks", ["name", "median seconds", "extra_info"],
              rows),
        "",
        *([*notes, ""] if notes else []),
    ]


__all__ = ["other_section", "scaling_section", "serving_section", "speedup_section"]
