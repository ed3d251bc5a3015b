"""Every number and table format of the report and of compare, in one place.

Values are formatted here, as strings, so that the output is byte-for-byte reproducible
(tabulate's own number parsing is off).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from tabulate import tabulate

from harness.evaluation.resampling import UserLevelAccuracy
from harness.evaluation.stats import MedianIQR, Summary
from harness.record.peruser import PER_USER_KS
from harness.record.redaction import redact

MISSING = "—"
# The accuracy tables' cut-offs, largest first: those whose per-user hits a cell records.
ACCURACY_KS = tuple(sorted(PER_USER_KS, reverse=True))
GROUP_COLUMNS = ("split", "configuration", "fit_on", "protocol")  # a cell group's key


def metric_label(name: str) -> str:
    """ "test/top_100_categorical_accuracy" -> "top-100 test accuracy"; others unchanged."""
    prefix, _, rest = name.partition("/")
    if rest.startswith("top_") and rest.endswith("_categorical_accuracy"):
        return f"top-{rest[4 : -len('_categorical_accuracy')]} {prefix} accuracy"
    return name


def escape(text: object) -> str:
    """One line of text that cannot break a Markdown table row, redacted (no credentials
    or home directory, even from a file of a suite version that did not redact them)."""
    return redact(" ".join(str(text).split())).replace("|", "\\|")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]],
                   colalign: Sequence[str] | None = None) -> str:
    """A GitHub Markdown table of already formatted cells (``colalign``: tabulate's)."""
    return tabulate(
        [[escape(cell) for cell in row] for row in rows],
        headers=[escape(h) for h in headers],
        tablefmt="github",
        disable_numparse=True,
        colalign=colalign,
    )


def is_number(value: object) -> bool:
    """A real number, not NaN (a JSON null, string or boolean is not)."""
    return (isinstance(value, (int, float, np.floating, np.integer))
            and not isinstance(value, bool) and not math.isnan(value))


def _signed(value: float, digits: int = 4) -> str:
    """ "+0.0210"; a value that rounds to zero prints as +0.0000, never -0.0000."""
    return f"{round(value, digits) + 0.0:+.{digits}f}"


def fmt_float(value: float | None, digits: int = 4, sign: bool = False) -> str:
    if not is_number(value):
        return MISSING
    return _signed(value, digits) if sign else f"{round(value, digits) + 0.0:.{digits}f}"


def fmt_p(p_value: float) -> str:
    if not is_number(p_value):
        return "p=n/a"
    return "p<0.001" if p_value < 0.001 else f"p={p_value:.3f}"


def fmt_mean_ci(summary: Summary) -> str:
    """ "0.2213 ± 0.0041 (n=5)": mean ± confidence half-width; no ± when n < 2."""
    if summary.n == 0:
        return MISSING
    if not is_number(summary.ci_half_width):
        return f"{summary.mean:.4f} (n={summary.n})"
    return f"{summary.mean:.4f} ± {summary.ci_half_width:.4f} (n={summary.n})"


def fmt_mean_seeds(summary: Summary) -> str:
    """ "0.2213 ± 0.0041 (n=5)", or for a sample the same in every seed (a deterministic
    model on a fixed test set) one value: "0.2823 (same in all 5 seeds; interval n/a)"."""
    if summary.n > 1 and summary.std == 0.0:
        return f"{summary.mean:.4f} (same in all {summary.n} seeds; interval n/a)"
    return fmt_mean_ci(summary)


def fmt_accuracy_users(accuracy: UserLevelAccuracy) -> str:
    """ "0.2199 [0.2101, 0.2297] (5 seeds × 943 users)", or for a group the same in every
    seed "0.2823 [0.2650, 0.3001] (301 users; same in all 5 seeds)"."""
    if not is_number(accuracy.mean):
        return MISSING
    interval = f"{accuracy.mean:.4f} [{fmt_float(accuracy.ci_low)}, {fmt_float(accuracy.ci_high)}]"
    if accuracy.identical_over_seeds:
        return f"{interval} ({accuracy.users} users; same in all {accuracy.seeds} seeds)"
    return f"{interval} ({accuracy.seeds} seeds × {accuracy.users} users)"


def fmt_mean_std(summary: Summary) -> str:
    """ "0.2213 ± 0.0041": mean ± standard deviation."""
    if summary.n == 0:
        return MISSING
    return f"{summary.mean:.4f} ± {summary.std:.4f}"


def fmt_verdict(mean: float, low: float, high: float, mark: str, p_value: float,
                adjusted: float, sample: str) -> str:
    """ "+0.0210 [+0.0185, +0.0235] ▲ p<0.001, adj. p=0.004 (5 seeds × 301 users)": the
    effect with its interval, the mark (by the adjusted p), raw and adjusted p."""
    interval = (f" [{_signed(low)}, {_signed(high)}]" if is_number(low) and is_number(high)
                else "")
    adjusted_text = fmt_p(adjusted).replace("p", "adj. p", 1)
    return (f"{_signed(mean)}{interval} {mark} {fmt_p(p_value)}, {adjusted_text} "
            f"({sample})")


def fmt_rate(value: float | None) -> str:
    """A throughput: thousands separators for large values, 3 significant digits else."""
    if not is_number(value):
        return MISSING
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def fmt_median_iqr(summary: MedianIQR) -> str:
    """ "12,345 (IQR 678; n=3)"."""
    if summary.n == 0:
        return MISSING
    return f"{fmt_rate(summary.median)} (IQR {fmt_rate(summary.iqr)}; n={summary.n})"


def fmt_ratio(new: float | None, base: float | None) -> str:
    if not (is_number(new) and is_number(base)) or base == 0:
        return MISSING
    return f"{new / base:.2f}×"


__all__ = ["ACCURACY_KS", "MISSING", "escape", "fmt_accuracy_users", "fmt_float",
           "fmt_mean_ci", "fmt_mean_seeds", "fmt_mean_std", "fmt_median_iqr", "fmt_p",
           "fmt_rate", "fmt_ratio", "fmt_verdict", "is_number", "markdown_table",
           "metric_label"]
