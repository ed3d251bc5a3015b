"""What pyproject.toml promises a user who installs from a checkout."""

from __future__ import annotations

import tomllib
from importlib.metadata import requires
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _extras() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    return {name: [Requirement(text) for text in texts]
            for name, texts in project["optional-dependencies"].items()}


def test_the_histogram_extra_brings_what_benchmark_histogram_draws_with():
    # pytest-benchmark draws --benchmark-histogram with pygal, installed by its own
    # "histogram" extra: ours must name that extra, and that extra must still be pygal's.
    [requirement] = _extras()["histogram"]
    assert requirement.name == "pytest-benchmark" and requirement.extras == {"histogram"}
    theirs = [Requirement(text) for text in requires("pytest-benchmark") or []]
    brought = {r.name for r in theirs
               if r.marker is not None and r.marker.evaluate({"extra": "histogram"})}
    assert "pygal" in brought
