"""Data-parallel training over MPI. Each test launches ``mpiexec -n 2`` / ``-n 3`` on a worker
script in tests/mpi/ and checks what it wrote or printed; skipped when mpi4py or mpiexec is
missing (``pip install "minigrad-course[distributed]"``)."""
import json
import os
import subprocess
import sys
import time

import numpy
import pytest
from mpi_launch import MPIEXEC, ROOT, TIMEOUT_S, WORKERS, launcher_flags, mpirun, needs_mpi


def _check(proc):
    assert proc.returncode == 0, f"mpiexec exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


def test_import_needs_no_mpi():
    """``import minigrad.distributed`` works without mpi4py and imports no MPI; the error names the extra."""
    code = ("import sys, minigrad, minigrad.distributed as d; assert 'mpi4py' not in sys.modules; "
            "sys.modules['mpi4py'] = None\n"  # make the import fail even where mpi4py is installed
            "try:\n    d.init_process_group()\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert 'pip install "minigrad-course[distributed]"' in out


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), float("inf"), True, "60", None])
def test_timeout_must_be_a_positive_duration(timeout):
    """Checked before MPI is imported, so this runs without mpi4py."""
    from minigrad import distributed as dist

    with pytest.raises(ValueError, match="timeout must be a positive datetime.timedelta or number of seconds"):
        dist.init_process_group(timeout=timeout)
    assert not dist.is_initialized()


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_collectives(n):
    proc, _ = mpirun(n, "collectives.py")
    _check(proc)
    for r in range(n):  # ranks share one pipe, so lines may interleave: count, do not split
        assert proc.stdout.count(f"rank {r} of {n}: collectives ok") == 1, proc.stdout


@needs_mpi
@pytest.mark.parametrize("n, size, drop_last", [(2, 40, 0), (3, 40, 0), (3, 40, 1), (3, 2, 0)])
def test_sharding(tmp_path, n, size, drop_last):
    """Disjoint shards that cover the epoch, reshuffled per epoch; uneven sizes padded or dropped."""
    proc, _ = mpirun(n, "sharding.py", tmp_path / "shards.json", size, drop_last)
    _check(proc)
    gathered = json.loads((tmp_path / "shards.json").read_text())  # [rank][epoch] -> indices
    per_rank = size // n if drop_last else -(-size // n)
    orders = []
    for epoch in range(3):
        shards = [gathered[r][epoch] for r in range(n)]
        assert all(len(s) == per_rank for s in shards), "every rank must take the same number of samples"
        seen = numpy.bincount(numpy.concatenate(shards), minlength=size)
        short = size % n
        if short == 0:
            assert (seen == 1).all(), f"epoch {epoch}: not every sample seen exactly once: {seen}"
        elif drop_last:
            assert seen.max() == 1 and (seen == 0).sum() == short, seen
        else:  # padded: n - short samples seen twice, the rest once (or more when size < n)
            assert seen.min() >= 1 and seen.sum() == per_rank * n, seen
            if size >= n:
                assert (seen == 2).sum() == n - short, seen
        # rank r's shard is every n-th element of one shared order, starting at r
        orders.append([shards[i % n][i // n] for i in range(per_rank * n)])
    if size > n:
        assert orders[0] != orders[1] != orders[2], "each epoch must be reshuffled"


@needs_mpi
@pytest.mark.parametrize("n, bad, how", [(2, 1, "raise"), (3, 0, "raise"), (2, 0, "exit")])
def test_failing_rank_ends_job(n, bad, how):
    proc, seconds = mpirun(n, "failure.py", bad, how, timeout=30)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert seconds < 10, f"the job took {seconds:.1f} s to end after rank {bad} failed"
    error = "ValueError: deliberate failure in the data pipeline" if how == "raise" else "SystemExit: 3"
    assert f"rank {bad}: {error}" in proc.stderr, proc.stderr
    assert "unreachable" not in proc.stdout


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_ddp_rules(n):
    """Broadcast at construction; backward alone averages, over 1 or many buckets; an explicit
    synchronize_gradients() after it sends nothing; no_sync; unused parameters (the error, the
    explicit call, find_unused_parameters); the error for mismatched models."""
    proc, _ = mpirun(n, "ddp_checks.py")
    _check(proc)
    for r in range(n):
        assert proc.stdout.count(f"rank {r} of {n}: ddp ok") == 1, proc.stdout


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_parameter_unused_on_some_ranks_ends_job_with_advice(n):
    """Default DDP (no synchronize_gradients, no find_unused_parameters): rank 0 waits in the
    all-reduce its hooks started; ranks 1.. raise at their next forward, which ends the job."""
    proc, seconds = mpirun(n, "unused.py", timeout=30)
    assert proc.returncode != 0 and seconds < 10, (proc.returncode, seconds, proc.stdout, proc.stderr)
    assert "rank 1: RuntimeError: rank 1: DistributedDataParallel: the last backward gave no gradient to " \
           "2 parameter(s) on this rank (head.bias, head.weight)" in proc.stderr, proc.stderr
    assert "find_unused_parameters=True" in proc.stderr and "unreachable" not in proc.stdout


@needs_mpi
@pytest.mark.parametrize("n, optimizer, loop", [(2, "sgd", "plain"), (2, "adam", "plain"), (3, "sgd", "plain"),
                                                (3, "adam", "plain"), (3, "adam", "explicit")])
def test_exactness_against_one_big_batch(tmp_path, n, optimizer, loop):
    """n ranks with per-rank batch b reach the parameters of one process with batch n*b:
    float64, 50 steps of SGD with momentum or of Adam, equal to 1e-12. The plain loop
    (backward averages), and with an explicit synchronize_gradients() after backward, which
    must change nothing."""
    b = 4
    explicit = ["--explicit"] if loop == "explicit" else []
    proc, _ = mpirun(n, "exactness.py", tmp_path / "ddp.npz", optimizer, b, *explicit)
    _check(proc)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, str(WORKERS / "exactness.py"), tmp_path / "one.npz", optimizer, str(b),
                    "--reference", str(n)], check=True, env=env, cwd=ROOT, timeout=TIMEOUT_S)
    ddp, one = numpy.load(tmp_path / "ddp.npz"), numpy.load(tmp_path / "one.npz")
    assert sorted(ddp.files) == sorted(one.files)
    for name in ddp.files:
        if name.startswith("init."):
            continue
        moved = numpy.abs(one[name] - one["init." + name]).max()
        assert moved > 1e-2, f"{name} barely trained ({moved}): the comparison would prove nothing"
        numpy.testing.assert_allclose(ddp[name], one[name], rtol=0, atol=1e-12, err_msg=name)


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_training_helper(n):
    proc, _ = mpirun(n, "training_helper.py")
    _check(proc)
    for r in range(n):
        assert proc.stdout.count(f"rank {r} of {n}: training helper ok") == 1, proc.stdout


def test_training_helper_without_distributed_needs_no_mpi():
    """Without --distributed the helper changes nothing and never imports mpi4py."""
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "from minigrad import distributed as dist, nn\n"
            "run = dist.setup_for_training(False)\n"
            "m, data = nn.Linear(2, 1), [1, 2, 3]\n"
            "assert run.wrap(m) is m and run.unwrap(m) is m and run.sampler(data) is None\n"
            "run.set_epoch(1)\n"
            "assert (run.rank, run.world_size, run.is_main) == (0, 1, True)\n"
            "assert run.mean(2.5) == 2.5 and run.sum(1, 2) == (1.0, 2.0)\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "ok", out.stderr


@needs_mpi
def test_docs_example_same_on_one_and_two_processes():
    """docs/distributed_example.py prints the same losses and weights on 1 process and 2 ranks."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    script = ROOT / "docs" / "distributed_example.py"
    one = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=TIMEOUT_S, check=True).stdout
    two = subprocess.run([MPIEXEC, *launcher_flags(), "-n", "2", sys.executable, str(script)],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=TIMEOUT_S, check=True).stdout
    strip = [line.split(" (")[0] for line in one.splitlines()]
    assert len(strip) == 6 and strip == [line.split(" (")[0] for line in two.splitlines()], (one, two)


def _train_cli(tmp_path, *options, n=2):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")  # one BLAS thread per rank
    cmd = [MPIEXEC, *launcher_flags(), "-n", str(n), sys.executable, "-m", "minigrad", "train", "--distributed",
           "--epochs", "1", "--batch-size", "32", "--out", str(tmp_path), "--no-progress", *options]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=TIMEOUT_S)
    return proc, time.monotonic() - start


@needs_mpi
def test_cli_train_distributed(tmp_path):
    """mpiexec -n 2 python -m minigrad train --distributed: global batch 2 x 32, one report and
    one set of files (from rank 0), and a checkpoint that loads without MPI."""
    proc, _ = _train_cli(tmp_path)
    _check(proc)
    assert "batch 32 x 2 ranks = 64" in proc.stdout and proc.stdout.count("epoch 1/1:") == 1, proc.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert (metrics["ranks"], metrics["global_batch_size"]) == (2, 64)
    assert metrics["batches_per_epoch"] == -(-metrics["train_size"] // 2 // 32)
    out = subprocess.run([sys.executable, "-m", "minigrad", "evaluate", "--checkpoint", str(tmp_path / "checkpoint.npz")],
                         capture_output=True, text=True, cwd=ROOT, timeout=TIMEOUT_S,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0 and "accuracy" in out.stdout, out.stderr


@needs_mpi
def test_cli_error_ends_every_rank(tmp_path):
    """A diverging run (the loss is averaged over ranks, so every rank sees the NaN and stops at
    the same step) ends the job in seconds with the CLI's one-line error, said once."""
    proc, seconds = _train_cli(tmp_path, "--lr", "1e30")
    assert proc.returncode == 2 and seconds < 30, (proc.returncode, seconds, proc.stderr)
    assert proc.stderr.count("minigrad: error: the loss became nan") == 1, proc.stderr
    assert "smaller --lr" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_distributed_without_mpi4py_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "from minigrad.cli import main\n"
            f"sys.exit(main(['train', '--distributed', '--epochs', '1', '--out', {str(tmp_path)!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=TIMEOUT_S,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("minigrad: error: --distributed:") and 'pip install "minigrad-course[distributed]"' in proc.stderr
