"""harness.record.machine: what a speed was measured on, read from fake /proc and /sys trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.record import machine as machine_module
from harness.record.machine import caches, describe, isa_level, machine, same_machine
from harness.run.gemm import gemm_gflops

CPUINFO = """processor\t: 0
model name\t: Example EPYC 9999
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512bw avx512vl amx_tile

processor\t: 1
model name\t: Example EPYC 9999
flags\t\t: fpu sse4_2
"""


def _cache(root: Path, index: int, level: int, kind: str, size: str) -> None:
    folder = root / f"index{index}"
    folder.mkdir(parents=True)
    (folder / "level").write_text(f"{level}\n")
    (folder / "type").write_text(f"{kind}\n")
    (folder / "size").write_text(f"{size}\n")


def test_caches_read_from_sysfs(tmp_path):
    _cache(tmp_path, 0, 1, "Data", "48K")
    _cache(tmp_path, 1, 1, "Instruction", "32K")
    _cache(tmp_path, 2, 2, "Unified", "2048K")
    _cache(tmp_path, 3, 3, "Unified", "32M")
    assert caches(tmp_path) == {"L1d": 48 * 1024, "L1i": 32 * 1024, "L2": 2 * 1024**2,
                                "L3": 32 * 1024**2}


def test_cpuinfo_fields_are_the_first_processors(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO)
    fields = machine_module._cpuinfo(cpuinfo)
    assert fields["model name"] == "Example EPYC 9999"
    assert "avx512f" in fields["flags"].split()  # processor 0's, not processor 1's
    assert machine_module._cpuinfo(tmp_path / "missing") == {}


def test_this_machine_is_described():
    info = machine()
    assert set(info) == {"cpu", "arch", "cores", "isa", "caches"}
    assert isinstance(info["cores"], int) and info["cores"] >= 1
    assert set(info["isa"]) <= set(machine_module.ISA_FLAGS)
    assert describe(info).startswith(str(info["cpu"]))


@pytest.mark.parametrize("isa, level", [
    (["sse4_2", "avx", "avx2", "fma", "avx512f", "amx_tile"], "AMX"),
    (["sse4_2", "avx", "avx2", "fma", "avx512f"], "AVX-512"),
    (["sse4_2", "avx", "avx2", "fma"], "AVX2"),
    (["asimd"], "NEON"),
    ([], "baseline ISA"),
])
def test_isa_level_names_the_widest_vector_extension(isa, level):
    assert isa_level(isa) == level


def test_describe_names_isa_caches_and_gemm_rate():
    info = {"cpu": "Example CPU", "arch": "x86_64", "cores": 2,
            "isa": ["avx", "avx2", "avx512f"],
            "caches": {"L1d": 32768, "L1i": 32768, "L2": 1048576, "L3": 33554432},
            "gemm_gflops": 41.7}
    assert describe(info) == ("Example CPU, x86_64, 2 cores, AVX-512 (avx avx2 avx512f), "
                              "L1d 32 KiB, L2 1 MiB, L3 32 MiB, "
                              "TF matmul 2048x32x2048 42 GFLOP/s")
    assert describe(None) is None and describe({"isa": []}) is None


def test_same_machine_needs_every_identity_field_equal_and_known():
    first = {"cpu": "X", "arch": "x86_64", "cores": 2, "isa": ["avx2"],
             "caches": {"L2": 1}, "gemm_gflops": 20.0}
    assert same_machine(first, {**first, "gemm_gflops": 35.0})  # a measurement, not identity
    for key, other in (("cpu", "Y"), ("cores", 4), ("isa", ["avx2", "avx512f"]),
                       ("caches", {"L2": 2}), ("arch", "aarch64")):
        assert not same_machine(first, {**first, key: other}), key
    assert not same_machine(first, None)
    assert not same_machine({**first, "isa": None}, {**first, "isa": None})
    capped = {**first, "isa_cap": "AVX2"}
    assert not same_machine(first, capped) and not same_machine(capped, first)
    assert same_machine(capped, dict(capped))
    assert not same_machine(capped, {**first, "isa_cap": "AVX"})


def test_a_cap_on_onednn_is_recorded_and_described(monkeypatch):
    monkeypatch.delenv(machine_module.ISA_CAP_ENV, raising=False)
    assert "isa_cap" not in machine_module.machine()
    monkeypatch.setenv(machine_module.ISA_CAP_ENV, "AVX2")
    info = machine_module.machine()
    assert info["isa_cap"] == "AVX2"
    assert "oneDNN capped at AVX2" in describe(info)


def test_gemm_rate_is_a_positive_number():
    rate = gemm_gflops(repeats=2)
    assert 0.1 < rate < 1e5


def _fixture_document(gemm_in: str) -> dict:
    """A golden benchmark file whose GEMM rate is in ``machine_info`` (files written
    before it moved) or in the header's ``session`` (files written since)."""
    import copy
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "ctxbench_benchjson", Path(__file__).parent / "fixtures" / "benchjson.py")
    benchjson = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchjson)
    document = copy.deepcopy(benchjson.benchmark_file(benchjson.cell_entries(
        "random", "baseline", 0, 0.05)))
    if gemm_in == "session":
        rate = document["machine_info"]["ctxbench"].pop("gemm_gflops")
        document["ctxbench"]["session"] = {"gemm_gflops": rate}
    return document


@pytest.mark.parametrize("gemm_in", ["machine_info", "session"])
def test_the_report_reads_the_gemm_rate_from_either_place(tmp_path, gemm_in):
    import json

    from harness.record.reader import load_run

    path = tmp_path / "run.json"
    path.write_text(json.dumps(_fixture_document(gemm_in)))
    machine = load_run(path).provenance["machine"]
    assert machine["gemm_gflops"] == 21.5
    assert "TF matmul 2048x32x2048 22 GFLOP/s" in describe(machine)


def test_machine_info_holds_no_measurement():
    # pytest-benchmark compares machine_info between runs: a per-session rate there
    # makes every comparison warn that the machine differs.
    assert "gemm_gflops" not in machine_module.machine()


def test_the_memory_a_cell_may_take(tmp_path, monkeypatch):
    from harness.errors import UserError
    from harness.record.machine import MEMORY_LIMIT_ENV, memory_available

    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:   20000000 kB\n")
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    assert memory_available(meminfo) == (20000000 * 1024, "MemAvailable")
    assert memory_available(tmp_path / "none") == (None, "unknown")
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1.5")
    assert memory_available(meminfo) == (int(1.5 * 2**30), MEMORY_LIMIT_ENV)
    for bad in ("abc", "0", "-2", "nan"):
        monkeypatch.setenv(MEMORY_LIMIT_ENV, bad)
        with pytest.raises(UserError, match=f"{MEMORY_LIMIT_ENV} must be a positive"):
            memory_available(meminfo)


def test_a_retriever_states_its_memory_and_its_time_for_the_catalogue():
    from harness.record.machine import stated_need

    inversion = (1000, 0.02)
    assert stated_need("ease", 2000, inversion) == (
        "ease needs 0.238 GiB and about 5.8 s a cell (36 inversions of the catalogue "
        "matrix; one of 1,000 x 1,000 took 0.020 s here) for 2,000 titles")
    # 25M's catalogue: 36 x 0.02 s x 62.423³ = 49 h.
    assert "about 49 h a cell" in stated_need("ease", 62_423, inversion)
    assert stated_need("item_knn", 2000, inversion) == "item_knn needs 0.119 GiB for 2,000 titles"
    assert stated_need("popularity", 2000, inversion) is None
    assert stated_need("baseline", 2000, inversion) is None


def test_eases_stated_time_is_within_a_factor_of_two_of_its_fit():
    """The cost in inversions against a fit timed beside one inversion on the same machine
    (a ratio: the machine cancels). Fails if EASE^R's fit changes its cost (another λ
    grid, another solver) without its stated cost following."""
    import time

    import numpy as np

    from harness.data.synthetic import synthetic_movielens
    from harness.model.registry import get_retriever
    from harness.model.training import TrainOptions
    from harness.run.cell import fit_cell
    from harness.run.gemm import inversion_seconds
    from harness.run.prepare import prepare_cell

    data = synthetic_movielens(np.random.default_rng(1), n_users=3000, n_items=2500,
                               n_interactions=150_000)
    cell = prepare_cell(data, "temporal", "ease", 0, TrainOptions())
    start = time.perf_counter()
    fit_cell(cell)
    fitted = time.perf_counter() - start
    titles = int(data.candidate_titles.size)
    stated = get_retriever("ease").time_need(titles, inversion_seconds(titles))
    assert 0.5 < stated / fitted < 2, (stated, fitted)
