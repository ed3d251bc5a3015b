"""The architecture holds: each layer of harness/ imports only the layers below it.

data -> evaluation -> model -> record -> run -> report -> cli, in the order data flows
(harness/__init__.py); ``splits`` knows nothing of harness or TensorFlow; reading and
reporting results never loads TensorFlow.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from benchrun import TENSORFLOW, heavy_imports

ROOT = Path(__file__).resolve().parent.parent
# errors, tfcompat and scanncompat are the base: all sit at layer 0.
BASE = ["errors", "tfcompat", "scanncompat"]
LAYERS = [*BASE, "data", "evaluation", "model", "record", "run", "report", "cli", "__main__",
          "__init__"]
RANK = {name: max(0, index - len(BASE) + 1) for index, name in enumerate(LAYERS)}


def _layer(module: str) -> str:
    """"harness.run.cell" -> "run"; "harness" -> "__init__"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module(path: Path, root: Path) -> str:
    relative = path.relative_to(root).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1] if len(parts) > 2 else [*parts[:-1], "__init__"]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, at any depth (lazy imports count)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def upward_imports(root: Path = ROOT) -> list[str]:
    problems = []
    for path in sorted((root / "harness").rglob("*.py")):
        own = _layer(_module(path, root))
        for line, target in _imports(path):
            if target == "harness" or target.startswith("harness."):
                if RANK[_layer(target)] > RANK[own]:
                    problems.append(f"{path.relative_to(root)}:{line} ({own}) imports "
                                    f"{target} ({_layer(target)})")
    for path in sorted((root / "splits").rglob("*.py")):
        for line, target in _imports(path):
            if target.split(".")[0] in ("harness", "tensorflow", "tf_keras",
                                        "tensorflow_recommenders"):
                problems.append(f"{path.relative_to(root)}:{line} (splits) imports {target}")
    return problems


def test_no_layer_imports_a_higher_one():
    assert upward_imports() == []


def test_the_check_catches_an_upward_import(tmp_path):
    # A copy of the tree with one upward import added: the check must name it.
    for package in ("harness", "splits"):
        for path in (ROOT / package).rglob("*.py"):
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text())
    ranking = tmp_path / "harness" / "evaluation" / "ranking.py"
    ranking.write_text(ranking.read_text() + "\n\ndef _late():\n"
                       "    from harness.report.format import MISSING  # noqa\n")
    problems = upward_imports(tmp_path)
    assert len(problems) == 1 and "harness/evaluation/ranking.py" in problems[0]
    assert "imports harness.report.format (report)" in problems[0]


@pytest.mark.parametrize("module", ["harness.record.reader", "harness.report.report",
                                    "harness.report.compare", "harness.record.grid"])
def test_reading_and_reporting_results_never_loads_tensorflow(module):
    assert heavy_imports([module]) == []


def test_the_cli_starts_without_scipy_or_tensorflow():
    """Every ``python -m harness`` builds the whole parser (``report``'s and ``compare``'s
    options among it): it loads neither scipy (a second) nor TensorFlow (seconds)."""
    probe = ("import json, sys; from harness.cli import build_parser; build_parser(); "
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
             f"{{'scipy', *{tuple(TENSORFLOW)!r}}})))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == []


MAX_MODULE_LINES = 300


def test_no_module_is_over_300_lines():
    """A module that outgrows a screenful of screens is split by what it holds (tests
    excepted: a test file grows with what it checks)."""
    long = {str(path.relative_to(ROOT)): n for package in ("harness", "splits", "benchmarks")
            for path in sorted((ROOT / package).rglob("*.py"))
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_collecting_the_benchmarks_never_loads_tensorflow():
    """`pytest benchmarks --collect-only`, `--help` and a grid refused before its first
    cell end without TensorFlow: the benchmark modules import it in the cells that train."""
    modules = [f"benchmarks.{path.stem}" for path in sorted((ROOT / "benchmarks").glob("*.py"))]
    assert len(modules) >= 4 and heavy_imports(modules) == []


def test_the_record_never_loads_tensorflow_or_optuna():
    """Every module of the record, its writer's and its reader's common ground, imported
    together: neither TensorFlow nor Optuna comes with it."""
    modules = sorted(f"harness.record.{path.stem}"
                     for path in (ROOT / "harness" / "record").glob("*.py"))
    assert heavy_imports(modules, (*TENSORFLOW, "optuna")) == []


def documented_modules(init: Path) -> list[str]:
    """The modules a subpackage's docstring names: every ``name`` of its "Modules:" list
    outside parentheses (a description in parentheses may quote other names), up to its
    "May import:"."""
    docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
    if "Modules:" not in docstring or "May import:" not in docstring:
        return []
    listed = docstring.split("Modules:", 1)[1].split("May import:", 1)[0]
    names, depth = [], 0
    for token in re.finditer(r"``([\w.]+)``|[()]", listed):
        if token.group() in "()":
            depth += 1 if token.group() == "(" else -1
        elif depth == 0:
            names.append(token.group(1))
    return names


SUBPACKAGES = sorted(path.parent.name for path in (ROOT / "harness").glob("*/__init__.py"))


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_a_subpackage_docstring_lists_exactly_its_modules(package):
    """Its "Modules:" list names each .py file of the folder once, and nothing else."""
    folder = ROOT / "harness" / package
    files = sorted(path.stem for path in folder.glob("*.py") if path.name != "__init__.py")
    documented = documented_modules(folder / "__init__.py")
    assert sorted(documented) == files, (
        f"harness/{package}/__init__.py: unlisted {sorted(set(files) - set(documented))}, "
        f"listed but no module {sorted(set(documented) - set(files))}")


def test_the_docstring_check_reads_only_the_modules_list(tmp_path):
    init = tmp_path / "__init__.py"
    init.write_text('"""Example.\n\nModules: ``a`` (quotes ``b`` (and ``c``)), ``d`` and ``e``\n'
                    '(``f``).\nMay import: ``harness.errors``.\n"""\n')
    assert documented_modules(init) == ["a", "d", "e"]
    init.write_text('"""No list at all."""\n')
    assert documented_modules(init) == []


def _module_names(root: Path) -> dict[str, Path]:
    """Dotted name -> file of every module of harness/ and splits/ (a package by its own
    name: "harness.run" is harness/run/__init__.py)."""
    names = {}
    for package in ("harness", "splits"):
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules of harness/ and splits/ it imports, at any depth (an import
    inside a function is an edge too: it closes a circle as soon as it runs)."""
    names = _module_names(root)
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                # "from harness.run import cell" imports the module harness.run.cell.
                targets |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in names
                            else base for alias in node.names}
        graph[name] = {target for target in targets if target in names and target != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle (a -> ... -> a) per strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                cycles.append(_circle(graph, set(group)))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def _circle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A path through ``group`` from its first module back to it (breadth first)."""
    start = min(group)
    paths = {target: [start, target] for target in graph[start] if target in group}
    while start not in paths:
        paths = {nxt: path + [nxt] for node, path in sorted(paths.items())
                 for nxt in sorted(graph[node]) if nxt in group and nxt not in path[1:]}
    return paths[start]


def test_no_module_imports_itself_through_others():
    """No import circle, lazy imports included: a circle makes import order matter and
    drags one module's dependencies (Optuna, TensorFlow) into the other's readers."""
    assert [" -> ".join(cycle) for cycle in import_cycles(import_graph())] == []


def test_the_cycle_check_catches_a_lazy_circle(tmp_path):
    # A copy of the tree where the tuned file's reader imports the tuning inside a
    # function again (it once did, for the code fingerprint): the check must name it.
    for package in ("harness", "splits"):
        for path in (ROOT / package).rglob("*.py"):
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text())
    tuned = tmp_path / "harness" / "run" / "tuned.py"
    tuned.write_text(tuned.read_text() + "\n\ndef _late():\n"
                     "    from harness.run import tuning  # noqa\n")
    cycles = import_cycles(import_graph(tmp_path))
    assert len(cycles) == 1 and cycles[0][0] == cycles[0][-1]
    assert {"harness.run.tuned", "harness.run.tuning"} <= set(cycles[0])
