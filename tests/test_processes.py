"""Whole `autofix` processes: interrupts, determinism across processes, no stray files."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

CLI = [sys.executable, "-m", "autofix"]


def _env(tmpdir):
    env = dict(os.environ)
    env.update(TMPDIR=str(tmpdir), TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture(scope="module")
def saved(tmp_path_factory, case):
    def save(name, **kwargs):
        c = case(name, **kwargs)
        folder = tmp_path_factory.mktemp(name)
        c.model.save(folder / "model.keras")
        np.savez(folder / "data.npz", x=c.x, y=c.y)
        return folder, c
    return save


#: (stderr marker to wait for, then seconds to wait, signal): during Python's start-up and
#: imports, as the search begins, and while a candidate trains
INTERRUPTS = [(None, 1.0, signal.SIGINT), ("diagnosed", 0.0, signal.SIGTERM),
              ("trying", 0.0, signal.SIGINT), ("trying", 0.3, signal.SIGTERM),
              ("trying", 0.6, signal.SIGINT)]


def test_an_interrupt_always_ends_the_same_way(saved, tmp_path):
    """Say "interrupted", write only a proven model, exit 130: every time, wherever the
    signal lands."""
    # enough rows that the candidate trains for seconds (2.2 s here): the signals land while
    # it trains (on noise labels the candidate is stopped as stuck within 0.4 s)
    folder, c = saved("unnormalized_inputs", rows=4000)
    for i, (marker, wait, sig) in enumerate(INTERRUPTS):
        out = tmp_path / f"run{i}"
        tmpdir = out / "tmp"
        tmpdir.mkdir(parents=True)
        report, fixed = out / "report.json", out / "fixed.keras"
        proc = subprocess.Popen(
            CLI + ["repair", str(folder / "model.keras"), str(folder / "data.npz"), "--epochs",
                   "400", "--report", str(report), "-o", str(fixed)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmpdir))
        seen = []
        if marker is not None:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                line = proc.stderr.readline()
                seen.append(line)
                if marker in line or not line:
                    break
        time.sleep(wait)
        proc.send_signal(sig)
        out_text, err = proc.communicate(timeout=180)
        story = f"run {i} ({marker}, {wait}s, {sig.name}): " + "".join(seen) + err + out_text
        assert proc.returncode == 130, story
        assert "interrupted" in (out_text + err).lower(), story
        assert "Exception ignored" not in err and "Traceback" not in err, story
        if report.exists():
            data = json.loads(report.read_text())
            assert data["interrupted"] is True, story
            assert fixed.exists() == (data["status"] == "repaired"), story
        else:
            assert not fixed.exists(), story
        assert list(tmpdir.iterdir()) == [], story  # temporary folders are removed too
        assert not list(out.glob(".*.tmp")) and not list(out.glob(".fixed.*")), story


def test_same_seed_same_report_in_two_processes(saved, tmp_path):
    folder, c = saved("unnormalized_inputs")
    reports, preds = [], []
    for run in ("a", "b"):
        out = tmp_path / run
        out.mkdir()
        proc = subprocess.run(
            CLI + ["repair", str(folder / "model.keras"), str(folder / "data.npz"), "--seed", "7",
                   "--report", str(out / "report.json"), "-o", str(out / "fixed.keras"), "--quiet"],
            capture_output=True, text=True, timeout=300, env=_env(tmp_path))
        assert proc.returncode == 0, proc.stderr[-2000:]
        report = json.loads((out / "report.json").read_text())
        report.pop("seconds")
        for attempt in report["attempts"]:
            attempt.pop("seconds")
        report["fix"].pop("model_path")
        reports.append(report)
        import keras

        preds.append(keras.models.load_model(out / "fixed.keras").predict(c.x[:50], verbose=0))
    assert reports[0] == reports[1]
    np.testing.assert_array_equal(preds[0], preds[1])


def test_repair_writes_only_its_outputs(saved, tmp_path):
    folder, c = saved("zero_init")
    before = sorted(p.name for p in folder.iterdir())
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    proc = subprocess.run(CLI + ["repair", str(folder / "model.keras"), str(folder / "data.npz"),
                                 "--quiet"], capture_output=True, text=True, timeout=300,
                          env=_env(tmpdir))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in folder.iterdir()) == sorted(before + ["model.fixed.keras"])
    assert list(tmpdir.iterdir()) == []
    (folder / "model.fixed.keras").unlink()
