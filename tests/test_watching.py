"""`autofix run train.py` and `with autofix.watch():`: the user's own script runs as it is,
each fit on arrays is checked when it returns, and only a fit that failed writes files."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

import autofix
from autofix.cli import app

runner = CliRunner()

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 5)).astype("float32")
    y = x @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.1 * rng.normal(size=600)
    keras.utils.set_random_seed(0)
    init = "{init}"
    model = keras.Sequential([keras.Input((5,)),
                              keras.layers.Dense(16, activation="relu", kernel_initializer=init),
                              keras.layers.Dense(1, kernel_initializer=init)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    print("script went on", sys.argv[1:])
    {after}
""")


def _script(tmp_path, *, broken=True, after=""):
    path = tmp_path / "train.py"
    path.write_text(SCRIPT.format(init="zeros" if broken else "glorot_uniform", after=after))
    return path


def test_a_collapsed_fit_is_repaired_beside_the_untouched_script(tmp_path):
    script = _script(tmp_path)
    before = script.read_bytes()
    result = runner.invoke(app, ["run", str(script), "--flag", "value"])
    assert result.exit_code == 0, result.output
    assert "script went on ['--flag', 'value']" in result.stdout
    fixed, report = tmp_path / "train.fit1.fixed.keras", tmp_path / "train.fit1.report.json"
    assert fixed.exists() and report.exists()
    payload = json.loads(report.read_text())
    assert payload["status"] == "repaired"
    assert payload["fix"]["model_path"] == str(fixed)
    assert "fit #1 (sequential" in result.stderr and "repaired with" in result.stderr
    assert "the same repair in your script" in result.stderr  # the edits, after the fit's line
    assert payload["fix"]["edits"] and all(e["after"].splitlines()[0] in result.stderr
                                         for e in payload["fix"]["edits"])
    assert script.read_bytes() == before
    import keras

    assert keras.models.load_model(fixed).predict(np.ones((2, 5)), verbose=0).shape == (2, 1)


def test_a_healthy_script_writes_nothing(tmp_path):
    script = _script(tmp_path, broken=False)
    result = runner.invoke(app, ["run", str(script)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]
    assert "1 fit(s) seen, 1 checked: 1 healthy, 0 repaired, 0 not" in result.stderr


def test_the_scripts_own_exit_code_and_an_earlier_runs_files_are_said(tmp_path):
    script = _script(tmp_path)
    runner.invoke(app, ["run", str(script)])
    script.write_text(SCRIPT.format(init="glorot_uniform", after="sys.exit(3)"))
    result = runner.invoke(app, ["run", str(script)])
    assert result.exit_code == 3  # the script's own, as under python
    assert "train.fit1.fixed.keras" in result.stderr and "from an earlier run" in result.stderr


def test_watch_only_reports_without_a_fixed_model(tmp_path):
    script = _script(tmp_path)
    out = tmp_path / "reports"
    result = runner.invoke(app, ["run", "--watch-only", "--out", str(out), str(script)])
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in out.iterdir()) == ["train.fit1.report.json"]
    payload = json.loads((out / "train.fit1.report.json").read_text())
    assert payload["status"] == "unrepairable" and payload["diagnosis"] == "degenerate"
    assert "degenerate (errors:" in result.stderr


def test_the_scripts_own_error_is_shown_and_the_fit_still_checked(tmp_path):
    script = _script(tmp_path, after="raise RuntimeError('the script broke after fit')")
    result = runner.invoke(app, ["run", str(script)])
    assert result.exit_code == 1
    assert "RuntimeError: the script broke after fit" in result.stderr
    assert (tmp_path / "train.fit1.fixed.keras").exists()


@pytest.mark.parametrize("args,words", [
    (["run", "missing.py"], "missing.py: no such file, expected a Python training script"),
    (["run", "--budget", "0", "x.py"], "--budget must be a positive number"),
])
def test_run_bad_input_is_one_line(tmp_path, args, words):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], result.stderr


def test_watch_in_python_checks_arrays_and_passes_datasets_through(tmp_path):
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 3)).astype("float32")
    y = (x[:, 0] - x[:, 1]).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    original = keras.Model.fit
    def batches():
        for start in range(0, 400, 50):
            yield x[start:start + 50], y[start:start + 50]

    with autofix.watch(repair=False) as watcher:
        history = model.fit(x, y, epochs=15, verbose=0)
        model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(32), epochs=15, verbose=0)
        model.fit(batches(), epochs=1, verbose=0)
    assert keras.Model.fit is original
    assert len(history.history["loss"]) == 15  # the user's fit ran as written
    first, second, third = watcher.fits
    assert first.status == "healthy" and first.rows == 400 and first.epochs == 15
    assert second.status == "healthy" and second.rows == 400  # a dataset is read again
    assert third.status == "skipped" and "a generator, which the fit used up" in third.skipped
    assert list(tmp_path.iterdir()) == []  # in Python nothing is written unless asked


def test_a_fit_that_raises_is_the_scripts_own_error(tmp_path):
    script = _script(tmp_path, broken=False).read_text().replace(
        "model.fit(x, y,", "model.fit(x[:, :3], y,")  # the wrong number of features
    (tmp_path / "train.py").write_text(script)
    result = runner.invoke(app, ["run", str(tmp_path / "train.py")])
    assert result.exit_code == 1
    assert ", 20 epochs): not checked: the fit itself raised ValueError" in result.stderr
    # the script's own error as Python shows it: from the script's frame, not autofix's
    assert "Traceback" in result.stderr and "runpy" not in result.stderr
    assert "autofix/cli.py" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]


def test_a_scripts_unclosed_file_is_written_when_autofix_run_ends(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "logs.py"
    script.write_text("log = open('out.txt', 'w')\nlog.write('all of it')\n")  # never closed
    proc = subprocess.run([sys.executable, "-m", "autofix", "run", str(script)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "made no model.fit call" in proc.stderr
    assert (tmp_path / "out.txt").read_text() == "all of it"
