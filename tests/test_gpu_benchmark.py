"""benchmarks/gpu.py waits for a session with a GPU; its CPU path runs here so that it does
not break unseen in the meantime (tiny sizes, one round, no test suite inside the test suite)."""
import json
import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "gpu.py"


def test_gpu_benchmark_runs_on_the_cpu(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--quick", "--rounds", "1",
                           "--skip-tests", "--skip-cli", "--out", str(out)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert [b["config"] for b in report["benchmarks"]] == ["article", "large-quick"]
    for b in report["benchmarks"]:
        assert b["median_steps_per_s"]["minigrad"] > 0
        assert b["final_loss"]["minigrad"] == b["final_loss"]["minigrad"]  # not NaN
    assert "minigrad steps/s" in proc.stdout
