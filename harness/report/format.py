"""Every number and table format of the report and of compare, in one place.

Values are formatted here, as strings, so that the output is byte-for-byte reproducible
(tabulate's own number parsing is off).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from tabulate import tabulate

from harness.evaluation.stats import MedianIQR, PairedDifference, Summary
from harness.record.redaction import redact

MISSING = "—"
ACCURACY_KS = (100, 50, 10)
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


def fmt_mean_std(summary: Summary) -> str:
    """ "0.2213 ± 0.0041": mean ± standard deviation."""
    if summary.n == 0:
        return MISSING
    return f"{summary.mean:.4f} ± {summary.std:.4f}"


def significance_mark(mean: float, p_value: float, alpha: float) -> str:
    """▲ (significant gain), ▼ (significant loss) or · (not significant)."""
    if is_number(p_value) and p_value < alpha and mean != 0.0:
        return "▲" if mean > 0 else "▼"
    return "·"


def fmt_delta(difference: PairedDifference, alpha: float) -> str:
    """ "+0.0210 [+0.0185, +0.0235] ▲ p<0.001 (n=3)"."""
    if difference.n == 0:
        return MISSING
    if difference.n < 2:
        return f"{_signed(difference.mean)} (n=1)"
    mark = significance_mark(difference.mean, difference.p_value, alpha)
    return (
        f"{_signed(difference.mean)} [{_signed(difference.ci_low)}, "
        f"{_signed(difference.ci_high)}] "
        f"{mark} {fmt_p(difference.p_value)} (n={difference.n})"
    )


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


__all__ = ["ACCURACY_KS", "MISSING", "escape", "fmt_delta", "fmt_float", "fmt_mean_ci",
           "fmt_mean_std", "fmt_median_iqr", "fmt_p", "fmt_rate", "fmt_ratio", "is_number",
           "markdown_table", "metric_label", "significance_mark"]
