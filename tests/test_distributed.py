"""A chief and two workers on 127.0.0.1 (keras-tuner's distributed mode) repair a scenario
with the same result as one process."""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np

import autofix

CLI = [sys.executable, "-m", "autofix"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chief_and_two_workers_match_a_single_process(case, tmp_path):
    c = case("unnormalized_inputs")
    c.model.save(tmp_path / "m.keras")
    np.savez(tmp_path / "d.npz", x=c.x, y=c.y)
    single = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size,
                            thorough=True)

    env = dict(os.environ, KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(_free_port()),
               TF_CPP_MIN_LOG_LEVEL="3")
    args = [str(tmp_path / "m.keras"), str(tmp_path / "d.npz"), "--workdir", str(tmp_path / "shared")]
    chief = subprocess.Popen(CLI + ["repair", *args, "--json", "-o", str(tmp_path / "fixed.keras")],
                             env=dict(env, KERASTUNER_TUNER_ID="chief"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    workers = [subprocess.Popen(CLI + ["repair", *args], env=dict(env, KERASTUNER_TUNER_ID=f"tuner{i}"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in (1, 2)]
    out, err = chief.communicate(timeout=400)
    worker_out = [w.communicate(timeout=120) for w in workers]
    assert chief.returncode == 0, err[-3000:]
    assert all(w.returncode == 0 for w in workers), [e[-2000:] for _, e in worker_out]
    report = json.loads(out)  # --json: stdout holds only the report
    assert report["status"] == single.status == "repaired"
    assert report["fix"]["strategies"] == single.report()["fix"]["strategies"]
    assert abs(report["fix"]["metric"] - single.report()["fix"]["metric"]) < 1e-6
    trained = sum(int(o.split("trained ")[1].split()[0]) for o, _ in worker_out)
    assert trained >= 1
    import keras

    fixed = keras.models.load_model(tmp_path / "fixed.keras")
    np.testing.assert_allclose(fixed.predict(c.x[:20], verbose=0), single.model.predict(c.x[:20], verbose=0),
                               rtol=1e-5, atol=1e-5)


def test_distributed_mode_without_workdir_is_an_input_error(case, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from autofix.cli import app

    c = case("zero_init")
    c.model.save(tmp_path / "m.keras")
    np.savez(tmp_path / "d.npz", x=c.x, y=c.y)
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "1")
    result = CliRunner().invoke(app, ["repair", str(tmp_path / "m.keras"), str(tmp_path / "d.npz")])
    assert result.exit_code == 2 and "--workdir" in result.stderr
