"""Whole `autofix` processes: interrupts, determinism across processes, no stray files."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

CLI = [sys.executable, "-m", "autofix.cli"]


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


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_writes_report_and_exits_130(sig, saved, tmp_path):
    folder, c = saved("noise_labels")
    report = tmp_path / "report.json"
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    proc = subprocess.Popen(
        CLI + ["repair", str(folder / "model.keras"), str(folder / "data.npz"), "--epochs", "400",
               "--report", str(report), "-o", str(tmp_path / "fixed.keras")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmpdir))
    deadline = time.monotonic() + 240
    seen = []
    while time.monotonic() < deadline:  # wait for the first candidate to start
        line = proc.stderr.readline()
        seen.append(line)
        if "trying" in line or not line:
            break
    time.sleep(0.5)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(seen) + err
    data = json.loads(report.read_text())
    assert data["interrupted"] is True
    assert data["status"] in ("repaired", "unrepairable")
    assert list(tmpdir.iterdir()) == []  # temporary folders are removed on interrupt too
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob(".fixed.*"))


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
