"""The protocol ladder: tutorial -> logq (the tutorial's budget, logQ on) -> tuned, one change
per step. Cells, keys and grids of the logq protocol, the options it trains with, the
``--protocol`` words, and the findings' count per step and per consecutive pair."""

from __future__ import annotations

import copy
import json
import re
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from benchrun import run_benchmarks

from harness.cli import main
from harness.errors import UserError
from harness.model.training import TrainOptions
from harness.record.cell import LOGQ, PROTOCOLS, TUNED, TUTORIAL, Cell, group_label
from harness.record.declared import read_grid
from harness.record.grid import Grid
from harness.record.reader import load_run
from harness.report.caption import caption
from harness.report.findings import findings_section
from harness.report.tables import Table
from harness.run.gridfile import read_grid_file
from harness.run.prepare import cell_options
from harness.run.settings import PROTOCOL_CHOICES, GridSettings

TRAIN = Path(__file__).resolve().parent / "fixtures" / "run_train.json"


def test_the_ladder_is_tutorial_then_logq_then_tuned():
    assert PROTOCOLS == (TUTORIAL, LOGQ, TUNED) == ("tutorial", "logq", "tuned")


def test_a_logq_cell_key_and_label_round_trip():
    cell = Cell("random", "baseline", "train", 0, LOGQ)
    assert cell.key == "random-baseline-train-logq-s0"
    assert Cell.from_key(cell.key) == cell
    assert Cell.from_key("temporal-timestamp-all-logq-s4") == Cell(
        "temporal", "timestamp", "all", 4, LOGQ)
    assert cell.group == "random/baseline/fit_on=train/logq"
    assert group_label(cell.group_key) == "random/baseline/train/logq"
    assert group_label(("random", "baseline", "train", TUTORIAL)) == "random/baseline/train"


def _cells(protocol: str) -> list[Cell]:
    settings = GridSettings(splits=("random",), configs=("baseline", "timestamp"), seeds=1,
                            protocol=protocol)
    return [c for c in settings.to_grid().cells() if c.config == "timestamp"]


def test_the_logq_protocol_trains_at_the_tutorials_budget_with_logq_on():
    learned = _cells(LOGQ) + [replace(c, protocol=LOGQ) for c in _cells(TUTORIAL)
                              if c.fit_on == "all"]  # an explicit --fit-on all holds too
    assert {c.protocol for c in learned} == {LOGQ} and {c.fit_on for c in learned} == {
        "train", "all"}
    for cell in learned:
        options, tuning = cell_options(cell, epochs=3)
        assert options.logq is True and tuning is None
        # Everything else is the tutorial's: Adagrad 0.1, batch 2048, 3 epochs, the
        # configuration's 32-dimensional embeddings, the cell's fit_on.
        assert options == replace(TrainOptions(fit_on=cell.fit_on), logq=True)
        assert (options.learning_rate, options.batch_size, options.epochs,
                options.embedding_dim) == (0.1, 2048, 3, None)
        twin, _ = cell_options(replace(cell, protocol=TUTORIAL), epochs=3)
        assert twin.logq is False and replace(twin, logq=True) == options
    assert [cell_options(c, epochs=3)[0].logq for c in _cells(TUTORIAL)] == [False, False]


def test_logq_fits_on_train_by_default_and_runs_the_baselines_once():
    """The leak of fitting preprocessing on every row is measured once, under the
    tutorial's protocol; the logq step changes logQ alone against the tutorial's
    fit_on=train cells."""
    grid = Grid(splits=("random",), configs=("baseline", "genres"), seeds=(0,),
                protocols=PROTOCOLS)
    assert [c.key for c in grid.cells()] == [
        "random-popularity-train-s0", "random-ease-train-s0",
        "random-baseline-train-s0", "random-baseline-all-s0",
        "random-baseline-train-logq-s0",
        "random-baseline-train-tuned-s0",
        "random-genres-train-s0", "random-genres-train-logq-s0",
        "random-genres-train-tuned-s0"]
    back = read_grid(json.loads(json.dumps(grid.to_dict())), [], "x.json")
    assert back.cells() == grid.cells()
    # A file that declares no grid: the cells found.
    inferred = read_grid(None, grid.cells(), "x.json")
    assert set(inferred.cells()) == set(grid.cells())


@pytest.mark.parametrize("word, protocols", [
    ("logq", (LOGQ,)), ("all", PROTOCOLS), ("both", PROTOCOLS), ("tutorial", (TUTORIAL,)),
    (None, (TUTORIAL,)),
    ("tuned,tutorial", (TUTORIAL, TUNED)),
    ("logq, tutorial,logq", (TUTORIAL, LOGQ)),
])
def test_protocol_words(word, protocols):
    settings = GridSettings(splits=("random",), configs=("baseline",), protocol=word)
    assert settings.protocols == protocols
    assert settings.to_grid().protocols == protocols


def test_an_unknown_protocol_is_one_line_naming_every_word():
    with pytest.raises(UserError) as raised:
        GridSettings(protocol="some").to_grid()
    message = str(raised.value)
    assert message == ("--protocol must be one of tutorial, logq, tuned, all, both, or a "
                       "comma-separated list of tutorial, logq, tuned; got 'some'")
    assert PROTOCOL_CHOICES == ("tutorial", "logq", "tuned", "all", "both")


@pytest.mark.parametrize("word", ["logq", "all", "both"])
def test_a_grid_file_takes_the_new_protocol_words(tmp_path, word):
    path = tmp_path / "grid.toml"
    path.write_text(f'protocol = "{word}"\nsplits = ["random"]\nconfigs = ["baseline"]\n')
    assert read_grid_file(path).to_grid().protocols == (
        (LOGQ,) if word == "logq" else PROTOCOLS)


def test_a_grid_file_takes_a_list_of_protocols(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('protocol = ["tuned", "tutorial"]\n')
    assert read_grid_file(path).to_grid().protocols == (TUTORIAL, TUNED)
    path.write_text('protocol = ["tuned", "ladder"]\n')
    with pytest.raises(UserError, match="protocol must be one of .* got 'tuned,ladder'"):
        read_grid_file(path)


def test_a_grid_file_with_an_unknown_protocol_exits_2_in_one_line(tmp_path, capsys):
    path = tmp_path / "grid.toml"
    path.write_text('protocol = "ladder"\n')
    assert main(["tune", "--grid-file", str(path), "--out", str(tmp_path / "t.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert ("protocol must be one of tutorial, logq, tuned, all, both, or a comma-separated "
            "list of tutorial, logq, tuned; got 'ladder'") in err


def test_pytest_benchmarks_collects_logq_cells_and_refuses_an_unknown_protocol():
    result = run_benchmarks("--quick", "--seeds", "1", "--splits", "random", "--protocol",
                            "logq", "--collect-only")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    ids = re.findall(r"\[([\w-]+)\]", result.stdout)
    assert "random-baseline-train-logq-s0" in ids and "random-popularity-train-s0" in ids
    assert not [i for i in ids if re.fullmatch(r"random-(baseline|timestamp)-train-s0", i)]
    refused = run_benchmarks("--quick", "--protocol", "ladder", "--collect-only")
    assert refused.returncode == 4  # pytest's usage error
    assert "--protocol must be one of" in refused.stderr and "Traceback" not in refused.stderr


def _ladder(steps: dict[str, tuple[str, ...]], tutorial: bool = True) -> object:
    """run_train.json with its learned cells copied under each protocol of ``steps``; the
    named splits get timestamp's accuracy lowered by 0.03 there (its ▲ on random becomes
    ▼), the tutorial's cells as they are (or every cell of the file left out, popularity's
    too, with ``tutorial`` false)."""
    document = json.loads(TRAIN.read_text(encoding="utf-8"))
    document.pop("ctxbench", None)
    original = list(document["benchmarks"])
    if not tutorial:
        document["benchmarks"] = [e for e in original if "config" not in e.get(
            "extra_info", {})]
    for protocol, lowered in steps.items():
        for entry in copy.deepcopy(original):
            extra = entry.get("extra_info", {})
            if extra.get("config") not in ("baseline", "timestamp"):
                continue
            extra["protocol"] = protocol
            cell = Cell(extra["split"], extra["config"], extra["fit_on"], extra["seed"],
                        protocol)
            entry["name"] = re.sub(r"\[.*\]", f"[{cell.key}]", entry["name"])
            if extra["config"] == "timestamp" and extra["split"] in lowered:
                extra["metrics"] = {k: v - 0.03 if isinstance(v, float) else v
                                    for k, v in extra["metrics"].items()}
            document["benchmarks"].append(entry)
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "run.json"
        file.write_text(json.dumps(document), encoding="utf-8")
        return load_run(file)


def test_findings_count_each_step_and_each_consecutive_pair():
    # logQ turns timestamp's ▲ on random into ▼; tuning turns it back.
    run = _ladder({LOGQ: ("random",), TUNED: ()})
    items = findings_section(run)
    counts, changes = [item for item in items if isinstance(item, Table)]
    assert [row[0] for row in counts.rows] == ["tutorial", "logq", "tuned"]
    assert [row[7:9] for row in counts.rows] == [["1", "0"], ["0", "1"], ["1", "0"]]
    # Consecutive pairs only: tutorial → tuned changes nothing here, and has no row.
    assert changes.rows == [["tutorial → logq", "train", "all test users", "2", "1", "1"],
                            ["logq → tuned", "train", "all test users", "2", "1", "1"]]
    lines = [item for item in items if isinstance(item, str) and item.startswith("- What")]
    assert lines == [
        "- What logQ changed (tutorial → logq), fit_on=train, all test users: significant "
        "verdicts after correction 1 → 1 (before it 1 → 1); 1 of 2 verdicts differ after "
        "correction (1 before it).",
        "- What tuning the budget changed (logq → tuned), fit_on=train, all test users: "
        "significant verdicts after correction 1 → 1 (before it 1 → 1); 1 of 2 verdicts "
        "differ after correction (1 before it)."]


def test_findings_of_two_protocols_that_skip_a_step_name_no_single_change():
    run = _ladder({TUNED: ("random",)})
    items = findings_section(run)
    changes = [item for item in items if isinstance(item, Table)][1]
    assert changes.rows == [["tutorial → tuned", "train", "all test users", "2", "1", "1"]]
    assert not [item for item in items if isinstance(item, str) and "What " in item]


def test_a_logq_table_caption_says_logq_is_on():
    run = _ladder({LOGQ: ()})
    assert "epochs 3, logQ sampling-bias correction" in caption("t", run, protocol=LOGQ)
    assert "logQ" not in caption("t", run, protocol=TUTORIAL)
    # The logq protocol's epochs are the fixed budget's, even without a tutorial cell.
    alone = _ladder({LOGQ: ()}, tutorial=False)
    assert alone.protocols == [LOGQ] and alone.epochs == {3}
