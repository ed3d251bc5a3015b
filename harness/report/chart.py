"""The report's chart, accuracy.png: mean top-100 test accuracy per configuration and split.

Rendered with matplotlib's Agg backend and no software tag, so the same runs give the same
bytes.
"""

from __future__ import annotations

import io

import numpy as np

from harness.evaluation.stats import summarize
from harness.record.runs import Run
from harness.report.accuracy import HEADLINE
from harness.report.format import metric_label
from harness.report.layout import group_for, row_configs, table_keys, table_title


def plot_accuracy(run: Run) -> bytes:
    """PNG bytes: mean top-100 test accuracy per configuration, grouped by split, with 95%
    CI error bars; one panel per (protocol, fit_on)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    tables, configs, splits = table_keys(run), row_configs(run), run.splits
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
        axis.set_title(table_title(protocol, fit_on))
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


__all__ = ["plot_accuracy"]
