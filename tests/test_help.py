"""Every command explains itself: ``--help`` works for the CLI and each subcommand (found
from the parser, so a new one is covered), every option has a help text, and
``--version`` names the suite version."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

import harness
from harness.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """name -> parser of each subcommand. argparse has no public way to list them: its
    subparsers action (a private class) holds them in ``choices``."""
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _undocumented(parser: argparse.ArgumentParser) -> list[str]:
    """Options and positionals of ``parser`` without a help text."""
    return [", ".join(action.option_strings) or action.dest for action in parser._actions
            if not (action.help and action.help.strip())]


def _harness(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


COMMANDS = sorted(_subcommands(build_parser()))


def test_the_parser_has_the_commands_the_docs_name():
    assert {"data", "splits", "tune", "budget", "report", "compare"} <= set(COMMANDS)


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_exits_0_with_a_usage(command):
    result = _harness(*([command] if command else []), "--help")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    prog = "python -m harness" + (f" {command}" if command else "")
    assert result.stdout.startswith(f"usage: {prog} ")
    assert "--help" in result.stdout


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_option_has_a_help_text(command):
    parser = build_parser()
    if command is not None:
        parser = _subcommands(parser)[command]
    assert _undocumented(parser) == []


def test_the_check_finds_an_option_without_help():
    parser = build_parser()
    _subcommands(parser)["splits"].add_argument("--undocumented", type=int)
    assert _undocumented(_subcommands(parser)["splits"]) == ["--undocumented"]


def test_version_prints_the_suite_version():
    result = _harness("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ctxbench {harness.__version__}\n"
