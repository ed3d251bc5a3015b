"""Markdown report and accuracy chart of one or more benchmark JSON files.

The report only reads JSON (never trains) and is deterministic: the same files render the
same bytes, with dates taken from the runs' own provenance, never the clock.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.errors import UserError
from harness.evaluation.keys import accuracy_key
from harness.evaluation.segments import segment_accuracy_key
from harness.evaluation.stats import paired_difference, summarize
from harness.report.diagnostics import leakage_section, problems_section, throughput_section
from harness.report.format import (
    ACCURACY_KS,
    MISSING,
    fmt_delta,
    fmt_mean_ci,
    is_number,
    metric_label,
)
from harness.report.measurements import (
    other_section,
    scaling_section,
    serving_section,
    speedup_section,
)
from harness.report.segments import run_bands, segments_section
from harness.report.tables import (
    FORMATS,
    Table,
    caption_of,
    parse_formats,
    to_markdown,
    write_tables,
)
from harness.results.runs import CellGroup, Run, load_run, merge_runs
from harness.run.machine import describe
from harness.run.records import write_bytes_atomic
from harness.run.schema import BASELINES, TUTORIAL

BASELINE = "baseline"
HEADLINE = accuracy_key(100)
ALPHA = 0.05


def group_for(run: Run, split: str, config: str, fit_on: str, protocol: str = TUTORIAL
              ) -> CellGroup | None:
    """The cells of (split, config, fit_on, protocol); a baseline ignores fit_on and the
    protocol, so any of its groups stands in for those it was not run under."""
    group = run.cells.get((split, config, fit_on, protocol))
    if group is None and config in BASELINES:
        group = next((g for k, g in run.cells.items() if k[:2] == (split, config)), None)
    return group


def _rows_configs(run: Run) -> list[str]:
    configs = [c for c in run.grid.all_configs if any(k[1] == c for k in run.cells)]
    configs += [c for c in run.configs if c not in configs]
    return sorted(configs, key=lambda c: c not in BASELINES)  # stable: baselines first


def _tables(run: Run) -> list[tuple[str, str]]:
    """(protocol, fit_on) of each table: those the learned configurations ran under."""
    found = [(p, f) for p in run.protocols for f in run.fit_ons
             if any(k[3] == p and k[2] == f and k[1] not in BASELINES for k in run.cells)]
    return found or [(TUTORIAL, f) for f in run.fit_ons]


def _title(protocol: str, fit_on: str) -> str:
    return f"{protocol} protocol, fit_on={fit_on}"


def _session(run: Run) -> str | None:
    session = run.provenance.get("session")
    if not isinstance(session, dict) or not is_number(session.get("wall_seconds")):
        return None
    rss = session.get("peak_rss_mb")
    text = f"{session['wall_seconds'] / 60:.1f} min, " + (
        f"{rss:,.0f} MB" if is_number(rss) else MISSING)
    resumed = session.get("cells_resumed")
    if is_number(resumed) and resumed:
        text += f" ({resumed:.0f} cells resumed from an earlier session)"
    return text


def _provenance(runs: list[Run]) -> Table:
    def versions(run: Run) -> str:
        values = run.provenance.get("versions") or {}
        return ", ".join(f"{k} {v}" for k, v in values.items()) or MISSING

    def git(run: Run) -> str:
        commit = run.provenance.get("git_commit")
        dirty = run.provenance.get("git_dirty")
        return MISSING if not commit else f"{commit}{' (dirty)' if dirty else ''}"

    fields = {
        "command": lambda r: r.provenance.get("command"),
        "date (UTC)": lambda r: r.provenance.get("utc_time") or r.datetime,
        "data source": lambda r: r.provenance.get("data_source"),
        "data sha256": lambda r: r.data_sha256,
        "versions": versions,
        "machine": lambda r: describe(r.provenance.get("machine")) or r.provenance.get("cpu"),
        "git commit": git,
        "ctxbench version": lambda r: r.suite_version,
        "seeds": lambda r: ", ".join(map(str, r.grid.seeds)),
        "epochs": lambda r: ", ".join(map(str, sorted(r.epochs))),
        "fit_on": lambda r: ", ".join(r.fit_ons),
    }
    fields["session wall time, peak RSS"] = _session
    if any(run.provenance.get("dataset") for run in runs):  # runs before --dataset: 100k
        fields["dataset"] = lambda r: r.provenance.get("dataset") or "movielens-100k"
    if any(run.grid.quick is not None for run in runs):
        fields["quick (users subsample)"] = lambda r: {True: "yes", False: "no"}.get(r.grid.quick)
    rows = [[name, *[value(run) or MISSING for run in runs]] for name, value in fields.items()]
    return Table("provenance", "Provenance of each results file",
                 ["field", *[run.path.name for run in runs]], rows)


def _accuracy(run: Run) -> list[str | Table]:
    out = [
        "## Accuracy",
        "",
        "Mean test accuracy over seeds ± half-width of its 95% t confidence interval; n "
        "counts the seeds that succeeded. The baselines (popularity: training counts; "
        "ease: EASE^R with its L2 weight chosen on the split's validation slice) ignore "
        "preprocessing, so their rows are the same under every fit_on; both rank tied "
        "scores against the true item.",
        "",
    ]
    for protocol, fit_on in _tables(run):
        for k in ACCURACY_KS:
            metric = accuracy_key(k)
            rows = []
            for config in _rows_configs(run):
                if config not in BASELINES and run.cells.keys().isdisjoint(
                        {(s, config, fit_on, protocol) for s in run.splits}):
                    continue
                cells = []
                for split in run.splits:
                    group = group_for(run, split, config, fit_on, protocol)
                    cells.append(fmt_mean_ci(summarize(group.metric(metric))) if group else MISSING)
                rows.append([config, *cells])
            out += [
                f"### {metric_label(metric).capitalize()}, {_title(protocol, fit_on)}",
                "",
                Table(f"accuracy_top{k}_fit_on_{fit_on}",
                      f"{metric_label(metric).capitalize()}: mean ± 95% CI half-width over "
                      f"seeds", ["configuration", *run.splits], rows, fit_on=fit_on,
                      protocol=protocol),
                "",
            ]
    return out


def _feature_help(run: Run) -> list[str | Table]:
    warm = run_bands(run) is not None
    out = [
        "## Does the feature help?",
        "",
        f"Δ {metric_label(HEADLINE)} of each configuration minus `{BASELINE}`, paired over "
        f"the seeds both completed: mean [95% CI], ▲/▼ when the paired t-test gives "
        f"p < {ALPHA}, · otherwise.",
        "",
    ]
    if warm:
        out += ["Each verdict for all test users is followed by the same verdict for warm "
                "users alone (users with training interactions, ranked as the headline "
                "metrics are): the difference between the two is what cold start adds.", ""]
    for protocol, fit_on in _tables(run):
        out += [f"### {_title(protocol, fit_on)}", "",
                _verdicts(run, protocol, fit_on, HEADLINE, "", "")]
        if warm:
            metric = segment_accuracy_key(100, run.rankings[0], "user_warm")
            out += ["", _verdicts(run, protocol, fit_on, metric, "_warm_users",
                                  " of warm users only")]
        out += [""]
    return out


def _verdicts(run: Run, protocol: str, fit_on: str, metric: str, suffix: str,
              who: str) -> Table | str:
    """The paired verdict table of one metric (``who`` says whose test interactions)."""
    rows = []
    for config in _rows_configs(run):
        if config == BASELINE:
            continue
        cells = []
        for split in run.splits:
            group = group_for(run, split, config, fit_on, protocol)
            base = run.cells.get((split, BASELINE, fit_on, protocol))
            if group is None or base is None:
                cells.append(MISSING)
                continue
            seeds = sorted(set(group.ok_seeds) & set(base.ok_seeds))
            difference = paired_difference(
                group.metric(metric, seeds), base.metric(metric, seeds)
            )
            cells.append(fmt_delta(difference, ALPHA))
        if any(cell != MISSING for cell in cells):
            rows.append([config, *cells])
    return (
        Table(f"feature_help{suffix}_fit_on_{fit_on}",
              f"Δ top-100 test accuracy{who} against {BASELINE}, paired over seeds",
              ["configuration", *run.splits], rows, fit_on=fit_on, protocol=protocol)
        if rows
        else f"No `{BASELINE}` cells to compare with."
    )


def _segments(run: Run) -> list[str | Table]:
    return segments_section(run, _tables(run), _rows_configs(run), group_for)


def report_items(runs: list[Run]) -> tuple[Run, list[str | Table]]:
    """The runs merged (see :func:`harness.results.runs.merge_runs`), and the report as
    Markdown lines with its tables as :class:`Table` values among them."""
    run = merge_runs(runs)
    lines: list[str | Table] = ["# ctxbench results", "", "## Provenance", "",
                                _provenance(runs), ""]
    for section in (
        _accuracy,
        _feature_help,
        _segments,
        leakage_section,
        throughput_section,
        problems_section,
        speedup_section,
        scaling_section,
        serving_section,
        other_section,
    ):
        lines += section(run)
    return run, lines


def tables_of(items: list[str | Table]) -> list[Table]:
    """The tables among a report's items, in order."""
    return [item for item in items if isinstance(item, Table)]


def render_items(run: Run, items: list[str | Table], fmt: str = "markdown") -> str:
    """The report in one format: Markdown is the whole report, each table under its
    caption; LaTeX and CSV are its tables only, one after another, a blank line apart."""
    if fmt == "markdown":
        text = "\n".join(
            to_markdown(item, caption_of(item, run)) if isinstance(item, Table) else item
            for item in items)
        return text.rstrip("\n") + "\n"
    return "\n".join(FORMATS[fmt](table, caption_of(table, run))
                     for table in tables_of(items))


def build_report(runs: list[Run]) -> str:
    """Markdown of the given runs, merged (see :func:`harness.results.runs.merge_runs`)."""
    return render_items(*report_items(runs))


def plot_accuracy(run: Run) -> bytes:
    """PNG bytes: mean top-100 test accuracy per configuration, grouped by split, with 95%
    CI error bars; one panel per (protocol, fit_on)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    tables, configs, splits = _tables(run), _rows_configs(run), run.splits
    figure = Figure(
        figsize=(
            max(6.0, 1.6 * len(splits) * max(1, len(configs)) / 3),
            3.2 * max(1, len(tables)),
        ),
        layout="constrained",
    )
    axes = figure.subplots(max(1, len(tables)), 1, squeeze=False)[:, 0]
    width = 0.8 / max(1, len(configs))
    for axis, (protocol, fit_on) in zip(axes, tables, strict=False):
        for index, config in enumerate(configs):
            summaries = [
                summarize(g.metric(HEADLINE))
                if (g := group_for(run, split, config, fit_on, protocol))
                else summarize([])
                for split in splits
            ]
            # NaN draws no bar: a configuration not run under this fit_on leaves a gap.
            heights = [s.mean if s.n else np.nan for s in summaries]
            errors = [s.ci_half_width if s.n > 1 else 0.0 for s in summaries]
            positions = np.arange(len(splits)) + (index - (len(configs) - 1) / 2) * width
            axis.bar(positions, heights, width, yerr=errors, capsize=2, label=config)
        axis.set_xticks(np.arange(len(splits)), splits)
        axis.set_ylabel(metric_label(HEADLINE))
        axis.set_title(_title(protocol, fit_on))
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(
        handles,
        labels,
        loc="outside upper center",
        fontsize="small",
        ncols=min(5, max(1, len(configs))),
        title="mean over seeds, 95% CI error bars",
        title_fontsize="small",
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None  # unreadable: load_run names it


def check_out_dir(out_dir: Path, paths: Sequence[Path]) -> None:
    """Refuses to replace a report of other files: ``out_dir`` may already hold a report
    (``results.md`` or ``tables/``) only when its own ``benchmark.json`` is one of
    ``paths`` (byte for byte), as when a run re-renders its results folder.

    Raises:
        UserError: ``out_dir`` holds a report of files that are not among ``paths``.
    """
    report = [name for name in ("results.md", "tables") if (out_dir / name).exists()]
    if not report:
        return
    own = out_dir / "benchmark.json"
    if own.is_file() and _sha256(own) in {_sha256(Path(p)) for p in paths}:
        return
    whose = (f"its {own.name} is not among the files given" if own.is_file()
             else f"it holds no {own.name} to say which run it reports")
    raise UserError(f"{out_dir} already holds a report ({' and '.join(report)}) and "
                    f"{whose}; pass --overwrite to replace it, or another --out")


def render_report(paths: list[Path], out_dir: Path | None = None,
                  formats: str | Sequence[str] = "markdown", overwrite: bool = False) -> str:
    """Renders the report of benchmark JSON files, writing it out when asked.

    Args:
        paths: pytest-benchmark JSON files (e.g. a fit_on=train and a fit_on=all run).
        out_dir: when given, ``results.md``, ``accuracy.png`` and every table as
            ``tables/<name>.tex`` and ``tables/<name>.csv`` are written there, each
            atomically (the directories are created if needed; see
            :func:`harness.report.tables.write_tables`).
        formats: the format of the returned text, or several (comma-separated or a
            sequence, each rendered in turn, a blank line apart): "markdown" (the
            report), "latex" or "csv" (its tables).
        overwrite: replace a report in ``out_dir`` even when it is another run's (see
            :func:`check_out_dir`).

    Returns:
        The report in ``formats``.

    Raises:
        UserError: a file is missing or malformed, the files disagree on data, epochs
            or suite version or repeat a cell, a format is unknown, or ``out_dir``
            cannot be written or holds another run's report (without ``overwrite``).
    """
    if not paths:
        raise UserError("report needs at least one benchmark JSON file")
    formats = parse_formats(formats)
    if out_dir is not None and not overwrite:
        check_out_dir(Path(out_dir), paths)
    runs = [load_run(path) for path in paths]
    run, items = report_items(runs)
    markdown = render_items(run, items)
    if out_dir is not None:
        out_dir = Path(out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise UserError(f"cannot write into {out_dir}: not a directory")
        png = plot_accuracy(run)  # the runs as report_items merged them
        write_bytes_atomic(out_dir / "results.md", markdown.encode("utf-8"))
        write_bytes_atomic(out_dir / "accuracy.png", png)
        tables = tables_of(items)
        write_tables(tables, [caption_of(t, run) for t in tables], out_dir / "tables")
    return "\n".join(markdown if fmt == "markdown" else render_items(run, items, fmt)
                     for fmt in formats)


__all__ = ["build_report", "check_out_dir", "group_for", "plot_accuracy", "render_items",
           "render_report", "report_items", "tables_of"]
