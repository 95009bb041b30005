"""The benchmark suite's plumbing (not its timings): a tiny run writes the
JSON the report script reads, and the one-core pinning used for JAX restores
the process's CPUs."""
import json
import os
import sys

import pytest

from tinynet import bench


def test_tiny_run_writes_json_with_tinynet_and_limits(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert bench.main(["--cases", "seed", "--sizes", "40", "--dtypes", "float32",
                       "--threads", "1", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    (row,) = data["results"]
    assert (row["case"], row["dtype"], row["N"]) == ("seed", "float32", 40)
    times = row["median_s"]
    for name in ("tinynet 1T", "exp limit", "stream limit"):
        assert 0 < times[name] < 1, name
    assert data["meta"]["config"]["seed_loop"] in ("avx512", "avx2", "portable")
    assert "seed float32 N=40" in capsys.readouterr().out


def test_every_case_runs(tmp_path, monkeypatch):
    real = bench.median_time
    monkeypatch.setattr(bench, "median_time", lambda fn: real(fn, budget=0.01, warmup=0))
    monkeypatch.setattr(bench, "available_peers", dict)     # tinynet and numpy only
    out = tmp_path / "b.json"
    cases = ",".join(bench.CASES)
    assert bench.main(["--cases", cases, "--sizes", "20", "--dtypes", "float64",
                       "--threads", "1", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["results"]
    assert [r["case"] for r in rows] == list(bench.CASES)
    assert all(0 < r["median_s"]["tinynet 1T"] < 1 for r in rows)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sched_setaffinity")
def test_one_core_pins_every_thread_and_restores():
    import threading
    before = os.sched_getaffinity(0)
    seen = {}
    with bench.one_core() as pinned:
        assert pinned
        seen["main"] = os.sched_getaffinity(0)
        t = threading.Thread(target=lambda: seen.update(thread=os.sched_getaffinity(0)))
        t.start()
        t.join()
    assert seen == {"main": {min(before)}, "thread": {min(before)}}
    assert os.sched_getaffinity(0) == before
