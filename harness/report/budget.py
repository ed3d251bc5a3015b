"""The budget curve's table and chart, from ``budget.json`` (:mod:`harness.run.budget`).

``budget.md`` holds one table: per split, configuration and hyperparameter set, the
validation and test top-100 accuracy after selected epochs, the epoch the validation
slice picks and the test accuracy there. ``budget.png`` draws every curve, one panel per
split. The table is also written as LaTeX and CSV under ``tables/budget/``.
"""

from __future__ import annotations

import io
from pathlib import Path

from harness.errors import UserError
from harness.record.files import BUDGET_FORMAT, read_json, write_bytes_atomic, write_text_atomic
from harness.report.caption import SHA_PREFIX
from harness.report.format import fmt_float
from harness.report.tables import Table, to_markdown, write_tables

SHOWN_EPOCHS = (1, 2, 3, 5, 10, 15, 20, 30)


def _check(document: object, path: Path) -> list[dict]:
    if not isinstance(document, dict) or document.get("format") != BUDGET_FORMAT:
        raise UserError(f"{path} is not a ctxbench budget file (no \"format\": "
                        f"\"{BUDGET_FORMAT}\")")
    curves = document.get("curves")
    if not isinstance(curves, list) or not curves:
        raise UserError(f"{path}: curves must be a non-empty list")
    for index, item in enumerate(curves):
        ok = isinstance(item, dict) and all(
            isinstance(item.get(key), list) and item[key]
            and all(isinstance(v, (int, float)) for v in item[key])
            for key in ("validation", "test"))
        if not ok or len(item["validation"]) != len(item["test"]):
            raise UserError(f"{path}: curves[{index}] needs equally long, non-empty "
                            "validation and test lists of numbers")
    return curves


def caption(document: dict) -> str:
    provenance = document.get("provenance") or {}
    sha = str(document.get("data_sha256") or "unknown")[:SHA_PREFIX]
    tuned = document.get("tuned_sha256")
    commit = str(provenance.get("git_commit") or "unknown")[:SHA_PREFIX]
    return ("Top-100 accuracy after each epoch, validation / test (test chooses nothing). "
            f"Seed {document.get('seed', 'unknown')}; trained on the training side less "
            f"its validation slice; data {document.get('data_source', 'unknown')}, sha256 "
            f"{sha}; tuned hyperparameters from tuned.json sha256 "
            f"{str(tuned)[:SHA_PREFIX] if tuned else 'none'}; ctxbench "
            f"{provenance.get('suite_version', 'unknown')}, git {commit}.")


def budget_table(curves: list[dict]) -> Table:
    longest = max(len(c["validation"]) for c in curves)
    epochs = [e for e in SHOWN_EPOCHS if e < longest] + [longest]
    rows = []
    for item in curves:
        validation, test = item["validation"], item["test"]
        cells = [f"{fmt_float(validation[e - 1], 3)} / {fmt_float(test[e - 1], 3)}"
                 if e <= len(validation) else "—" for e in epochs]
        best = max(range(len(validation)), key=lambda i: (validation[i], -i))
        rows.append([item.get("split"), item.get("config"), item.get("hyperparameters"),
                     *cells, str(best + 1), fmt_float(test[best], 4)])
    return Table("budget", "Budget curve",
                 ["split", "configuration", "hyperparameters",
                  *[f"epoch {e}" for e in epochs], "best validation epoch",
                  "test there"], rows)


def plot(curves: list[dict]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    splits = list(dict.fromkeys(c.get("split") for c in curves))
    figure = Figure(figsize=(4.2 * len(splits), 3.6), layout="constrained")
    axes = figure.subplots(1, len(splits), squeeze=False)[0]
    colors = {}
    for axis, split in zip(axes, splits, strict=True):
        for item in (c for c in curves if c.get("split") == split):
            label = f"{item.get('config')}, {item.get('hyperparameters')}"
            color = colors.setdefault(label, f"C{len(colors)}")
            epochs = range(1, len(item["validation"]) + 1)
            axis.plot(epochs, item["validation"], color=color, label=f"{label}: validation")
            axis.plot(epochs, item["test"], color=color, linestyle="--",
                      label=f"{label}: test")
        axis.set_title(split)
        axis.set_xlabel("epoch")
        axis.set_ylabel("top-100 accuracy")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", fontsize="small",
                  ncols=4, title="solid: validation (chooses); dashed: test (chooses nothing)",
                  title_fontsize="small")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def render_budget(path: Path, out_dir: Path | None = None) -> str:
    """Markdown of a ``budget.json``; with ``out_dir``, also ``budget.md``,
    ``budget.png`` and ``tables/budget/budget.{tex,csv}`` written there.

    Raises:
        UserError: the file is missing or malformed, or ``out_dir`` cannot be written.
    """
    path = Path(path)
    document = read_json(path)
    curves = _check(document, path)
    table = budget_table(curves)
    text = caption(document)
    markdown = "\n".join([
        "# Budget curve", "",
        "How much of each verdict is the training budget: one model per row (seed 0), "
        "trained on the training side less its validation slice, scored after every "
        "epoch on the validation slice (what early stopping and tuning see) and on test "
        "(shown, never used to choose). Cells are validation / test top-100 accuracy.",
        "", to_markdown(table, text), "", "![budget curves](budget.png)", ""])
    if out_dir is not None:
        out_dir = Path(out_dir)
        write_text_atomic(out_dir / "budget.md", markdown)
        write_bytes_atomic(out_dir / "budget.png", plot(curves))
        write_tables([table], [text], out_dir / "tables" / "budget")
    return markdown


__all__ = ["budget_table", "caption", "plot", "render_budget"]
