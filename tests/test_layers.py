"""The architecture holds: each layer of harness/ imports only the layers below it.

data -> evaluation -> model -> record -> run -> results -> report -> cli, in the order data
flows (harness/__init__.py); ``splits`` knows nothing of harness or TensorFlow; reading and
reporting results never loads TensorFlow.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# errors, tfcompat and scanncompat are the base: all sit at layer 0.
BASE = ["errors", "tfcompat", "scanncompat"]
LAYERS = [*BASE, "data", "evaluation", "model", "record", "run", "results", "report", "cli",
          "__main__", "__init__"]
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


@pytest.mark.parametrize("module", ["harness.results.runs", "harness.report.report",
                                    "harness.report.compare", "harness.run.schema"])
def test_reading_and_reporting_results_never_loads_tensorflow(module):
    probe = (f"import sys, {module}; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('tensorflow', 'tf_keras', 'tensorflow_recommenders')))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
