"""Tables people can cite: captions, LaTeX and CSV renderings, the files under tables/, and
the suite version every run records and compare checks.

Rendered against the golden fixtures of ``tests/test_report.py``; LaTeX is compiled when a
TeX engine is on PATH and always checked against hand-written escapes.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import harness
from harness.errors import UserError
from harness.record.merge import merge_runs
from harness.record.provenance import suite_version
from harness.record.reader import load_run
from harness.report.caption import caption, seeds_text
from harness.report.report import render_report
from harness.report.tables import (
    Table,
    latex_escape,
    parse_formats,
    to_csv,
    to_latex,
    to_markdown,
    write_tables,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
TRAIN, ALL = FIXTURES / "run_train.json", FIXTURES / "run_all.json"
TEX_ENGINES = ("pdflatex", "lualatex", "tectonic")
TRAIN_CAPTION = ("Top-100 test accuracy. Protocol tutorial; fit_on train; data "
                 "grouplens:ml-100k.zip, sha256 5e2ab1c00000; seeds 0-2; epochs 3; ctxbench "
                 "unknown, git 0123456789ab.")
TRICKY = Table("tricky", "Costs_% & #1 {a} ~b^c $d \\e",
               ["split_name", "share %"],
               [["a&b", "0.2199 ± 0.0071 (n=5)"], ["**best**", "x#1 {y} ~z^w $v \\u"]])


def _write(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _fixture(path: Path = TRAIN) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _cells(document: dict) -> list[dict]:
    """The entries of cells (the fixture's speed-up entry has no provenance)."""
    return [e for e in document["benchmarks"] if "provenance" in e["extra_info"]]


# --- captions -----------------------------------------------------------------------------

def test_caption_names_protocol_fit_on_data_seeds_epochs_version_and_commit():
    assert caption("Top-100 test accuracy", load_run(TRAIN)) == TRAIN_CAPTION


def test_caption_takes_the_protocol_and_fit_on_of_its_table():
    run = merge_runs([load_run(TRAIN), load_run(ALL)])
    assert "fit_on train, all;" in caption("t", run)
    text = caption("t", run, protocol="tuned", fit_on="all")
    assert text.startswith("t. Protocol tuned; fit_on all; ")


def test_caption_of_an_old_file_reads_unknown_instead_of_failing(tmp_path):
    document = _fixture()
    del document["ctxbench"], document["commit_info"]
    for entry in _cells(document):
        provenance = entry["extra_info"]["provenance"]
        for key in ("data_source", "data_sha256", "git_commit", "git_dirty"):
            provenance.pop(key)
    text = caption("T", load_run(_write(tmp_path / "old.json", document)))
    assert "data unknown, sha256 unknown;" in text
    assert text.endswith("; ctxbench unknown, git unknown.")


def test_caption_reads_the_version_and_commit_the_run_recorded(tmp_path):
    document = _fixture()
    document["ctxbench"]["suite_version"] = "0.2.0"
    for entry in _cells(document):
        entry["extra_info"]["provenance"].update(git_commit="f" * 40, git_dirty=True)
    text = caption("T", load_run(_write(tmp_path / "new.json", document)))
    assert text.endswith("; ctxbench 0.2.0, git ffffffffffff (dirty).")


def test_caption_names_every_commit_the_cells_were_measured_at(tmp_path):
    """A resumed or extended run holds cells from several commits: each is named."""
    document = _fixture()
    cells = _cells(document)
    for i, entry in enumerate(cells):
        entry["extra_info"]["provenance"].update(git_commit=("b" if i % 2 else "a") * 40,
                                                 git_dirty=bool(i % 2))
    text = caption("T", load_run(_write(tmp_path / "mixed.json", document)))
    assert text.endswith(", git aaaaaaaaaaaa, bbbbbbbbbbbb (dirty).")


def test_the_commit_falls_back_to_pytest_benchmarks_commit_info(tmp_path):
    document = _fixture()
    document["commit_info"]["id"] = "abcdef0123456789"
    for entry in _cells(document):
        entry["extra_info"]["provenance"].pop("git_commit")
    assert caption("T", load_run(_write(tmp_path / "c.json", document))).endswith(
        "git abcdef012345.")


@pytest.mark.parametrize(("seeds", "text"), [((0, 1, 2, 3, 4), "0-4"), ((0, 2, 5), "0, 2, 5"),
                                             ((0, 1), "0, 1"), ((), "unknown")])
def test_seeds_text(seeds, text):
    assert seeds_text(seeds) == text


# --- the three formats --------------------------------------------------------------------

def test_latex_escapes_every_special_character():
    assert latex_escape("a_b%c&d#e$f{g}h~i^j\\k") == (
        r"a\_b\%c\&d\#e\$f\{g\}h\textasciitilde{}i\^{}j\textbackslash{}k")
    assert latex_escape("0.2199 ± 0.0071, **best** — Δ ▲") == (
        r"0.2199 $\pm$ 0.0071, \textbf{best} --- $\Delta$ $\uparrow$")


def test_latex_table_escapes_cells_headers_and_caption():
    text = to_latex(TRICKY, "Costs_% & #1. Protocol tutorial; fit_on train.")
    lines = text.splitlines()
    assert lines[:4] == [r"\begin{table}[htbp]", r"\centering",
                         r"\caption{Costs\_\% \& \#1. Protocol tutorial; fit\_on train.}",
                         r"\label{tab:tricky}"]
    assert lines[4] == r"\begin{tabular}{ll}" and lines[-1] == r"\end{table}"
    assert [line.split() for line in lines[5:-1] if "&" in line] == [
        [r"split\_name", "&", r"share", r"\%", r"\\"],
        [r"a\&b", "&", "0.2199", r"$\pm$", "0.0071", "(n=5)", r"\\"],
        [r"\textbf{best}", "&", r"x\#1", r"\{y\}", r"\textasciitilde{}z\^{}w", r"\$v",
         r"\textbackslash{}u", r"\\"],
    ]
    assert r"\toprule" in lines and r"\midrule" in lines and r"\bottomrule" in lines


def test_markdown_puts_the_caption_right_above_the_table():
    text = to_markdown(TRICKY, "Cap.")
    assert text.splitlines()[:3] == ["Table: Cap.", "", "| split_name   | share %               |"]


def test_csv_starts_with_the_caption_comment_and_round_trips():
    text = to_csv(TRICKY, "Cap, with a comma.")
    first, rest = text.split("\n", 1)
    assert first == "# Cap, with a comma."
    assert list(csv.reader(io.StringIO(rest))) == [
        ["split_name", "share %"], ["a&b", "0.2199 ± 0.0071 (n=5)"],
        ["best", "x#1 {y} ~z^w $v \\u"]]


def test_every_table_in_every_format_carries_its_caption():
    markdown = render_report([TRAIN, ALL])
    tables = markdown.count("\n| ---") + markdown.count("\n|---")
    assert markdown.count("\nTable: ") == tables == 15  # 14 and the findings counts
    latex = render_report([TRAIN, ALL], formats="latex")
    assert latex.count(r"\begin{table}") == latex.count(r"\caption{") == tables
    assert latex.count("Protocol tutorial; fit\\_on ") == tables
    blocks = render_report([TRAIN, ALL], formats="csv").split("\n\n")
    assert len(blocks) == tables
    assert all(b.startswith("# ") and "; ctxbench unknown, git 0123456789ab." in
               b.splitlines()[0] for b in blocks)


def test_parse_formats_accepts_commas_and_repeats_and_lists_the_valid_ones():
    assert parse_formats(["latex,csv", "latex"]) == ("latex", "csv")
    with pytest.raises(UserError, match="unknown format 'xml'; valid: markdown, latex, csv"):
        parse_formats("markdown,xml")


def test_a_protocol_other_than_the_tutorials_gets_its_own_file_name():
    assert Table("t", "T", [], []).file_stem == "t"
    assert Table("t", "T", [], [], protocol="tuned").file_stem == "t_tuned"


def test_write_tables_writes_both_formats_and_removes_stale_ones(tmp_path):
    stale = tmp_path / "gone.tex"
    stale.write_text("old", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    written = write_tables([TRICKY, TRICKY], ["A.", "B."], tmp_path)
    assert [p.name for p in written] == ["tricky.tex", "tricky.csv", "tricky_2.tex",
                                         "tricky_2.csv"]
    assert (tmp_path / "tricky_2.csv").read_text(encoding="utf-8").startswith("# B.\n")
    assert not stale.exists() and (tmp_path / "notes.txt").exists()


def test_file_names_stay_inside_the_tables_directory(tmp_path):
    tables = [Table("accuracy_fit_on_../../x y", "T", ["a"], [["1"]]),
              Table("..", "T", ["a"], [["1"]])]
    written = write_tables(tables, ["A.", "B."], tmp_path / "tables")
    assert [p.name for p in written] == ["accuracy_fit_on_.._.._x_y.tex",
                                         "accuracy_fit_on_.._.._x_y.csv", "table.tex",
                                         "table.csv"]
    assert all(p.parent == tmp_path / "tables" for p in written)
    assert r"\label{tab:accuracy_fit_on_.._.._x_y}" in written[0].read_text(encoding="utf-8")


def test_the_committed_budget_curve_is_a_render_of_its_json(tmp_path):
    from harness.report.budget import render_budget

    results = ROOT / "results"
    markdown = render_budget(results / "budget.json", tmp_path)
    assert markdown == (results / "budget.md").read_text(encoding="utf-8")
    for name in ("budget.tex", "budget.csv"):
        committed = (results / "tables" / "budget" / name).read_bytes()
        assert committed == (tmp_path / "tables" / "budget" / name).read_bytes(), name


def test_latex_compiles_in_a_minimal_document(tmp_path):
    engine = next((e for e in TEX_ENGINES if shutil.which(e)), None)
    if engine is None:
        pytest.skip(f"no TeX engine on PATH ({', '.join(TEX_ENGINES)}); escaping is "
                    "checked against known strings above")
    body = to_latex(TRICKY, "Costs_% & #1 {a} ~b^c $d \\e ± — Δ ▲.") + render_report(
        [TRAIN, ALL], formats="latex")
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
        "\\begin{document}\n" + body + "\\end{document}\n", encoding="utf-8")
    command = ([engine, "doc.tex"] if engine == "tectonic"
               else [engine, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"])
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000


# --- CLI ----------------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_unknown_format_is_one_line_listing_the_valid_names():
    result = _cli("report", str(TRAIN), "--format", "latex,xml")
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert "unknown format 'xml'; valid: markdown, latex, csv" in result.stderr


def test_cli_prints_each_format_asked_for_in_order():
    result = _cli("report", str(TRAIN), "--format", "csv", "--format", "latex")
    assert result.returncode == 0, result.stderr
    assert result.stdout == render_report([TRAIN], formats="csv,latex")
    assert result.stdout == (render_report([TRAIN], formats="csv") + "\n"
                             + render_report([TRAIN], formats="latex"))


# --- the suite version --------------------------------------------------------------------

def _pyproject_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]


def test_the_harness_version_is_this_checkouts():
    # An editable install's metadata can name another checkout or an older version.
    assert Path(harness.__file__).resolve().parent.parent == ROOT
    assert harness.__version__ == suite_version() == _pyproject_version()


def test_suite_version_reads_the_checkouts_pyproject(tmp_path):
    (tmp_path / "harness").mkdir()
    (tmp_path / "harness" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "ctxbench"\nversion = "9.8.7"\n', encoding="utf-8")
    assert suite_version(tmp_path) == "9.8.7"
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "other"\nversion = "1.0"\n', encoding="utf-8")
    assert suite_version(tmp_path) != "1.0"


def test_suite_version_takes_the_installed_metadata_only_outside_a_checkout(
        tmp_path, monkeypatch):
    from importlib import metadata

    # An installed wheel (no pyproject.toml beside the code): its metadata.
    monkeypatch.setattr(metadata, "version", lambda name: "3.2.1")
    assert suite_version(tmp_path) == "3.2.1"
    # A checkout (an editable install's metadata keeps the version it was installed with):
    # the checkout's pyproject.toml wins.
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "ctxbench"\nversion = "9.8.7"\n', encoding="utf-8")
    assert suite_version(tmp_path) == "9.8.7"


def test_citation_cff_names_the_package_version():
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (tox -e tests has it)")
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0"
    assert str(citation["version"]) == harness.__version__
    assert citation["license"] == "Apache-2.0"
    assert citation["authors"] == [{"name": "ctxbench developers"}]
    assert {"message", "title", "date-released"} <= set(citation)


def test_runs_of_different_suite_versions_are_not_merged_into_one_report(tmp_path):
    document = copy.deepcopy(_fixture(ALL))
    document["ctxbench"]["suite_version"] = "0.2.0"
    with pytest.raises(UserError, match="suite_version: unknown != 0.2.0"):
        render_report([TRAIN, _write(tmp_path / "new.json", document)])
