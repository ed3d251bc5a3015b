"""The README and docs/ stay true to the tree: links resolve, the Quickstart is the two
commands CI runs, the findings quote results/, and every tox env named exists.

A relative link (``[text](path#anchor)``) must name a file or folder that exists, and an
anchor a heading of the target page (GitHub's slugs). Links inside code are not links.
"""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
# A newcomer reads the README in five minutes; the long material lives in docs/.
README_MAX_LINES = 300

FENCE = re.compile(r"^```.*?^```[^\n]*$", re.MULTILINE | re.DOTALL)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def prose(text: str) -> str:
    """``text`` without fenced blocks, HTML comments and inline code."""
    return CODE_SPAN.sub("", COMMENT.sub("", FENCE.sub("", text)))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup and punctuation dropped, lower case, spaces
    as hyphens (``Other datasets (`--dataset`)`` -> ``other-datasets---dataset``)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown page, repeated headings numbered as GitHub does."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def broken_links(document: Path) -> list[str]:
    """Each relative link of ``document`` whose file or anchor does not exist."""
    problems = []
    for target in LINK.findall(prose(document.read_text(encoding="utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        if not resolved.exists():
            problems.append(f"{target}: {resolved} does not exist")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {_name(resolved)}")
    return problems


def section(text: str, title: str) -> str:
    """The body of the ``## title`` section of a Markdown page."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no '## {title}' section"
    return match[1]


def tox_envs() -> set[str]:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini", encoding="utf-8")
    return {name.removeprefix("testenv:") for name in config if name.startswith("testenv:")}


def quickstart_commands() -> list[str]:
    """The command lines of the README's Quickstart code block."""
    body = section(README.read_text(encoding="utf-8"), "Quickstart")
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", body, re.M | re.S)
    assert len(blocks) == 1, f"the Quickstart has {len(blocks)} code blocks, not one"
    return [
        line.strip()
        for line in blocks[0].splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def tox_part(line: str) -> list[str]:
    """The `tox ...` command of a shell line (``pip install tox && tox -e tests``)."""
    for part in re.split(r"&&|\|\||;", line):
        words = shlex.split(part)
        if words[:1] == ["tox"]:
            return words
    raise AssertionError(f"no tox command in {line!r}")


documents = pytest.mark.parametrize("document", DOCUMENTS, ids=[_name(p) for p in DOCUMENTS])


@documents
def test_every_relative_link_resolves(document: Path) -> None:
    problems = broken_links(document)
    assert not problems, f"{_name(document)}:\n" + "\n".join(problems)


def test_a_link_to_a_missing_file_or_heading_is_caught(tmp_path: Path) -> None:
    """The checker itself: a moved page or a renamed heading is reported."""
    (tmp_path / "other.md").write_text("# Other\n\n## The grid file\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[a](other.md#the-grid-file) [b](gone.md) [c](other.md#gone) "
        "`[d](gone.md)` [e](https://example.org/x)\n",
        encoding="utf-8",
    )
    problems = broken_links(page)
    assert [problem.split(":")[0] for problem in problems] == ["gone.md", "other.md#gone"]


def test_slugs_follow_github() -> None:
    assert slug("Other datasets (`--dataset`)") == "other-datasets---dataset"
    assert slug("Segments: cold start and the seen titles") == (
        "segments-cold-start-and-the-seen-titles"
    )
    assert slug("`compare`") == "compare"


def test_quickstart_is_two_commands_and_ci_runs_the_tests_one() -> None:
    """The README promises two lines; `.ci/run` must run the second line's tox command, so
    what a newcomer runs is what CI runs."""
    commands = quickstart_commands()
    assert len(commands) == 2, f"the Quickstart has {len(commands)} command lines: {commands}"
    tests = tox_part(commands[1])
    ci = [
        tox_part(line)
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if re.search(r"(^|&&|;)\s*tox\b", line) and not line.lstrip().startswith("#")
    ]
    assert tests in ci, f".ci/run runs {ci}, not the Quickstart's `{shlex.join(tests)}`"


@documents
def test_every_tox_env_named_exists(document: Path) -> None:
    envs = tox_envs()
    named = re.findall(r"tox -e ([\w,.-]+)", document.read_text(encoding="utf-8"))
    missing = {env for group in named for env in group.split(",")} - envs
    assert not missing, f"{_name(document)} names tox envs that tox.ini lacks: {missing}"


def markdown_table(text: str) -> dict[str, dict[str, str]]:
    """The first Markdown table of ``text``: row label -> column header -> cell."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), None)
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines[start:end]
    ]
    header, body = rows[0], [row for row in rows[1:] if not set("".join(row)) <= set("-: ")]
    return {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in body}


def results_table(results: str, heading: str) -> dict[str, dict[str, str]]:
    assert f"\n{heading}\n" in results, f"results/results.md has no {heading!r}"
    return markdown_table(results.split(f"\n{heading}\n", 1)[1])


def numbers(cell: str) -> list[float]:
    return [float(n) for n in re.findall(r"\d+(?:\.\d+)?", cell)]


def where_in_results(label: str) -> tuple[str, str, str]:
    """The results.md section, row and column of a README findings row's cells."""
    if label.startswith("future-leak rate"):
        return "## Leakage diagnostics", "split", "future leak rate"
    config = re.split(r"[ ,(]", label)[0].lower().replace("ease^r", "ease")
    protocol = next((p for p in ("tuned", "logq") if label.lower().endswith(p)), "tutorial")
    fit_on = "all" if "fit on all" in label else "train"
    return f"### Top-100 test accuracy, {protocol} protocol, fit_on={fit_on}", config, ""


# The README's findings sections and the results.md each quotes.
FINDINGS = {"What it found": "results/results.md",
            "Context from the past alone": "results/history/results.md"}


@pytest.mark.parametrize("title", FINDINGS)
def test_the_readme_findings_table_quotes_results(title: str) -> None:
    """Each cell of a README findings table is the matching cell of its results.md (mean,
    then the interval where the README shows one): results regenerated with other
    numbers, or a typo, makes this fail."""
    findings = markdown_table(section(README.read_text(encoding="utf-8"), title))
    results = (ROOT / FINDINGS[title]).read_text(encoding="utf-8")
    assert len(findings) >= 10, f"the findings table lost rows: {list(findings)}"
    problems = []
    for label, cells in findings.items():
        heading, row, column = where_in_results(label)
        table = results_table(results, heading)
        for split, cell in cells.items():
            # A row is found by its first word: "ease (popularity for cold users)" is ease's.
            source = (table[split][column] if column else
                      next(cells for name, cells in table.items()
                           if name.split(" ")[0] == row)[split])
            if numbers(source)[: len(numbers(cell))] != numbers(cell):
                problems.append(f"{label} / {split}: README {cell!r}, results.md {source!r}")
    assert not problems, "\n".join(problems)


def test_the_readme_history_findings_quote_the_history_report() -> None:
    """Every signed difference and every count of marks the README's history findings
    state appears in results/history/results.md as the report printed it."""
    body = section(README.read_text(encoding="utf-8"), "Context from the past alone")
    after_table = body.rsplit("|\n", 1)[-1]
    results = (ROOT / FINDINGS["Context from the past alone"]).read_text(encoding="utf-8")
    quoted = re.findall(r"[+−-]\d\.\d{4}(?: \[[+−-]\d\.\d{4}, [+−-]\d\.\d{4}\])?",
                        after_table)
    counted = re.findall(r"\d+ ▲, \d+ ▼, \d+ · of \d+ cells", after_table)
    assert quoted and counted, "the history findings quote no difference or count"
    missing = [text for text in quoted + counted if text.replace("−", "-") not in results]
    assert not missing, f"not in {FINDINGS['Context from the past alone']}: {missing}"


def test_the_readme_stays_short() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines (at most {README_MAX_LINES}): move detail to docs/"
    )


@documents
def test_no_install_from_pypi(document: Path) -> None:
    """ctxbench is not on PyPI: an install names the checkout (`pip install -e '.[x]'`)."""
    text = document.read_text(encoding="utf-8")
    wrong = re.findall(r"pip install\s+['\"]?ctxbench[^\s`]*", text)
    assert not wrong, f"{_name(document)}: {wrong}; use `python -m pip install -e '.[extra]'`"


def findings_tables(results: str) -> tuple[dict, dict]:
    """The generated findings of results/results.md: (protocol, fit_on, users) -> the
    verdict counts row, and (protocols, fit_on, users) -> the protocol changes row."""
    body = section(results, "Findings")
    tables = []
    for part in body.split("\nTable: ")[1:]:
        lines = [line for line in part.splitlines() if line.startswith("|")]
        rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
                for line in lines if not set(line) <= set("|-: ")]
        tables.append({tuple(row[:3]): dict(zip(rows[0], row, strict=True))
                       for row in rows[1:]})
    assert len(tables) == 2, f"the findings section has {len(tables)} tables, not 2"
    return tables[0], tables[1]


# The README's verdict counts, in the words it uses (whitespace normalised).
LADDER = re.compile(
    r"Of the (\d+) \"does the feature help\?\" cells \(6 configurations × 5 splits\), "
    r"corrected with Holm's method within each protocol's (\d+) cells, the significant "
    r"verdicts number (\d+) under the tutorial protocol \((\d+) before correction\), (\d+) "
    r"with logQ added \((\d+) before\) and (\d+) tuned \((\d+) before\); logQ alone changes "
    r"(\d+) verdicts \((\d+) before correction\) and tuning the budget then changes (\d+) "
    r"\((\d+) before\)")


def test_the_readme_verdict_counts_quote_the_generated_findings() -> None:
    """Every count the README's findings give is the report's: the significant verdicts
    at each step of the protocol ladder and the verdicts each step changes, after Holm's
    correction and before it. A re-run that moves a count, or a typo, makes this fail."""
    readme = " ".join(section(README.read_text(encoding="utf-8"), "What it found").split())
    counts, changes = findings_tables((ROOT / "results" / "results.md").read_text("utf-8"))
    quoted = LADDER.search(readme)
    assert quoted, "the README no longer states the verdict counts it is tied to"
    expected = []
    for protocol in ("tutorial", "logq", "tuned"):
        row = counts[(protocol, "train", "all test users")]
        assert row["correction"].startswith("Holm"), row["correction"]
        expected += [int(row["▲ adjusted"]) + int(row["▼ adjusted"]),
                     int(row["▲ raw"]) + int(row["▼ raw"])]
    steps = [changes[(step, "train", "all test users")]
             for step in ("tutorial → logq", "logq → tuned")]
    cells = {row["cells in both"] for row in steps}
    assert len(cells) == 1 and cells == {counts[("tuned", "train", "all test users")]["cells"]}
    for row in steps:
        expected += [int(row["differ after correction"]), int(row["differ before correction"])]
    assert [int(n) for n in quoted.groups()] == [int(cells.pop())] * 2 + expected
