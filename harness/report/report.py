"""Markdown report and accuracy chart of one or more benchmark JSON files.

The report only reads JSON (never trains) and is deterministic: the same files render the
same bytes, with dates taken from the runs' own provenance, never the clock.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from harness.errors import UserError
from harness.evaluation.keys import accuracy_key
from harness.evaluation.stats import paired_difference, summarize
from harness.report.format import (
    ACCURACY_KS,
    MISSING,
    fmt_delta,
    fmt_mean_ci,
    is_number,
    markdown_table,
    metric_label,
)
from harness.report.sections import (
    leakage_section,
    other_section,
    problems_section,
    scaling_section,
    serving_section,
    speedup_section,
    throughput_section,
)
from harness.results.runs import CellGroup, Run, load_run, merge_runs
from harness.run.machine import describe
from harness.run.records import write_bytes_atomic
from harness.run.schema import BASELINES

BASELINE = "baseline"
HEADLINE = accuracy_key(100)
ALPHA = 0.05


def group_for(run: Run, split: str, config: str, fit_on: str) -> CellGroup | None:
    """The cells of (split, config, fit_on); a baseline ignores fit_on, so any of its
    groups stands in for a fit_on it was not run under."""
    group = run.cells.get((split, config, fit_on))
    if group is None and config in BASELINES:
        group = next((g for k, g in run.cells.items() if k[:2] == (split, config)), None)
    return group


def _rows_configs(run: Run) -> list[str]:
    configs = [c for c in run.grid.all_configs if any(k[1] == c for k in run.cells)]
    configs += [c for c in run.configs if c not in configs]
    return sorted(configs, key=lambda c: c not in BASELINES)  # stable: baselines first


def _learned_fit_ons(run: Run) -> list[str]:
    return [
        f for f in run.fit_ons if any(k[2] == f and k[1] not in BASELINES for k in run.cells)
    ] or run.fit_ons


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


def _provenance(runs: list[Run]) -> str:
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
        "seeds": lambda r: ", ".join(map(str, r.grid.seeds)),
        "epochs": lambda r: ", ".join(map(str, sorted(r.epochs))),
        "fit_on": lambda r: ", ".join(r.fit_ons),
    }
    fields["session wall time, peak RSS"] = _session
    if any(run.grid.quick is not None for run in runs):
        fields["quick (users subsample)"] = lambda r: {True: "yes", False: "no"}.get(r.grid.quick)
    rows = [[name, *[value(run) or MISSING for run in runs]] for name, value in fields.items()]
    return markdown_table(["field", *[run.path.name for run in runs]], rows)


def _accuracy(run: Run) -> list[str]:
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
    for fit_on in _learned_fit_ons(run):
        for k in ACCURACY_KS:
            metric = accuracy_key(k)
            rows = []
            for config in _rows_configs(run):
                if config not in BASELINES and (
                    run.cells.keys().isdisjoint({(s, config, fit_on) for s in run.splits})
                ):
                    continue
                cells = []
                for split in run.splits:
                    group = group_for(run, split, config, fit_on)
                    cells.append(fmt_mean_ci(summarize(group.metric(metric))) if group else MISSING)
                rows.append([config, *cells])
            out += [
                f"### {metric_label(metric).capitalize()}, fit_on={fit_on}",
                "",
                markdown_table(["configuration", *run.splits], rows),
                "",
            ]
    return out


def _feature_help(run: Run) -> list[str]:
    out = [
        "## Does the feature help?",
        "",
        f"Δ {metric_label(HEADLINE)} of each configuration minus `{BASELINE}`, paired over "
        f"the seeds both completed: mean [95% CI], ▲/▼ when the paired t-test gives "
        f"p < {ALPHA}, · otherwise.",
        "",
    ]
    for fit_on in _learned_fit_ons(run):
        rows = []
        for config in _rows_configs(run):
            if config == BASELINE:
                continue
            cells = []
            for split in run.splits:
                group = group_for(run, split, config, fit_on)
                base = run.cells.get((split, BASELINE, fit_on))
                if group is None or base is None:
                    cells.append(MISSING)
                    continue
                seeds = sorted(set(group.ok_seeds) & set(base.ok_seeds))
                difference = paired_difference(
                    group.metric(HEADLINE, seeds), base.metric(HEADLINE, seeds)
                )
                cells.append(fmt_delta(difference, ALPHA))
            if any(cell != MISSING for cell in cells):
                rows.append([config, *cells])
        body = (
            markdown_table(["configuration", *run.splits], rows)
            if rows
            else f"No `{BASELINE}` cells to compare with."
        )
        out += [f"### fit_on={fit_on}", "", body, ""]
    return out


def build_report(runs: list[Run]) -> str:
    """Markdown of the given runs, merged (see :func:`harness.results.runs.merge_runs`)."""
    run = merge_runs(runs)
    lines = ["# ctxbench results", "", "## Provenance", "", _provenance(runs), ""]
    for section in (
        _accuracy,
        _feature_help,
        leakage_section,
        throughput_section,
        problems_section,
        speedup_section,
        scaling_section,
        serving_section,
        other_section,
    ):
        lines += section(run)
    return "\n".join(lines).rstrip("\n") + "\n"


def plot_accuracy(run: Run) -> bytes:
    """PNG bytes: mean top-100 test accuracy per configuration, grouped by split, with 95%
    CI error bars; one panel per fit_on."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fit_ons, configs, splits = _learned_fit_ons(run), _rows_configs(run), run.splits
    figure = Figure(
        figsize=(
            max(6.0, 1.6 * len(splits) * max(1, len(configs)) / 3),
            3.2 * max(1, len(fit_ons)),
        ),
        layout="constrained",
    )
    axes = figure.subplots(max(1, len(fit_ons)), 1, squeeze=False)[:, 0]
    width = 0.8 / max(1, len(configs))
    for axis, fit_on in zip(axes, fit_ons, strict=False):
        for index, config in enumerate(configs):
            summaries = [
                summarize(g.metric(HEADLINE))
                if (g := group_for(run, split, config, fit_on))
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
        axis.set_title(f"fit_on={fit_on}")
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


def render_report(paths: list[Path], out_dir: Path | None = None) -> str:
    """Renders the report of benchmark JSON files, writing it out when asked.

    Args:
        paths: pytest-benchmark JSON files (e.g. a fit_on=train and a fit_on=all run).
        out_dir: when given, ``results.md`` and ``accuracy.png`` are written there
            atomically (the directory is created if needed).

    Returns:
        The Markdown text.

    Raises:
        UserError: a file is missing or malformed, the files disagree on data or
            epochs or repeat a cell, or ``out_dir`` cannot be written.
    """
    if not paths:
        raise UserError("report needs at least one benchmark JSON file")
    runs = [load_run(path) for path in paths]
    markdown = build_report(runs)
    if out_dir is not None:
        out_dir = Path(out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise UserError(f"cannot write into {out_dir}: not a directory")
        png = plot_accuracy(merge_runs(runs))
        write_bytes_atomic(out_dir / "results.md", markdown.encode("utf-8"))
        write_bytes_atomic(out_dir / "accuracy.png", png)
    return markdown


__all__ = ["build_report", "group_for", "plot_accuracy", "render_report"]
