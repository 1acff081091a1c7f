"""The command line through typer's CliRunner: exit codes, report, outputs, bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from autofix.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory, case):
    """model.keras + data.npz for a few scenarios, written once."""
    root = tmp_path_factory.mktemp("cli")
    out = {}
    for name in ("zero_init", "all_zero_labels", "healthy"):
        c = case(name)
        folder = root / name
        folder.mkdir()
        c.model.save(folder / "model.keras")
        np.savez(folder / "data.npz", x=c.x, y=c.y)
        out[name] = (folder / "model.keras", folder / "data.npz", c)
    return out


def _digest(path):
    return path.read_bytes()


def test_repair_writes_fixed_model_and_report(files):
    model, data, c = files["zero_init"]
    before = (_digest(model), _digest(data))
    report_path = model.parent / "report.json"
    result = runner.invoke(app, ["repair", str(model), str(data), "--report", str(report_path),
                                 "--epochs", str(c.epochs)])
    assert result.exit_code == 0, result.output
    fixed = model.with_name("model.fixed.keras")
    assert fixed.exists()
    report = json.loads(report_path.read_text())
    assert report["status"] == "repaired"
    assert "symmetric_init" in {f["code"] for f in report["findings"]}
    assert report["fix"]["model_path"] == str(fixed)
    assert (_digest(model), _digest(data)) == before
    # loadable with plain Keras in a process that never imports autofix
    code = (
        "import sys, numpy as np, keras\n"
        f"m = keras.models.load_model({str(fixed)!r})\n"
        f"x = np.load({str(data)!r})['x'][:20]\n"
        "p = m.predict(x, verbose=0)\n"
        "assert 'autofix' not in sys.modules\n"
        "print(p.shape, float(p.std()))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("(20, 1)")
    assert float(proc.stdout.split()[-1]) > 0.1  # predictions vary


def test_all_zero_labels_is_unrepairable(files):
    model, data, c = files["all_zero_labels"]
    result = runner.invoke(app, ["repair", str(model), str(data), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["status"] == "unrepairable" and report["fix"] is None
    assert "constant_target" in {f["code"] for f in report["findings"]}
    assert not model.with_name("model.fixed.keras").exists()


def test_healthy_model_is_left_alone(files):
    model, data, c = files["healthy"]
    result = runner.invoke(app, ["repair", str(model), str(data), "--quiet"])
    assert result.exit_code == 0
    assert result.stdout.strip().startswith("healthy")
    assert not model.with_name("model.fixed.keras").exists()


def test_diagnose_json_has_no_attempts(files):
    model, data, c = files["zero_init"]
    result = runner.invoke(app, ["diagnose", str(model), str(data), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["attempts"] == [] and report["fix"] is None
    assert report["status"] in ("repaired", "healthy", "unrepairable")
    assert {"symmetric_init", "degenerate_predictions"} <= {f["code"] for f in report["findings"]}


def test_strategies_lists_every_registered_strategy():
    from autofix.strategies import registry

    result = runner.invoke(app, ["strategies"])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(registry())
    assert all(line.split()[0] in registry() for line in lines)


def test_help_and_the_finding_codes_do_not_import_tensorflow():
    code = ("import sys\nfrom autofix.cli import app\nimport autofix\n"
            "autofix.Finding, autofix.CODES  # the finding codes are light too\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


# --- bad input: exit 2, one line on stderr naming the file, inputs untouched -------------

def _bad(tmp_path, files, kind):
    model, data, c = files["zero_init"]
    args = ["repair", str(model), str(data)]
    if kind == "missing_model":
        args[1] = str(tmp_path / "nope.keras")
    elif kind == "directory":
        args[1] = str(tmp_path)
    elif kind == "empty_model":
        (tmp_path / "empty.keras").write_bytes(b"")
        args[1] = str(tmp_path / "empty.keras")
    elif kind == "not_zip":
        (tmp_path / "text.keras").write_text("hello")
        args[1] = str(tmp_path / "text.keras")
    elif kind == "truncated":
        blob = model.read_bytes()
        (tmp_path / "cut.keras").write_bytes(blob[: len(blob) // 2])
        args[1] = str(tmp_path / "cut.keras")
    elif kind == "bad_h5":
        (tmp_path / "m.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"0" * 100)
        args[1] = str(tmp_path / "m.h5")
    elif kind == "pickled":
        np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}] * 20, dtype=object), y=np.zeros(20))
        args[2] = str(tmp_path / "obj.npz")
    elif kind == "missing_y":
        np.savez(tmp_path / "noy.npz", x=c.x)
        args[2] = str(tmp_path / "noy.npz")
    elif kind == "length_mismatch":
        np.savez(tmp_path / "len.npz", x=c.x, y=c.y[:-3])
        args[2] = str(tmp_path / "len.npz")
    elif kind == "wrong_width":
        np.savez(tmp_path / "wide.npz", x=np.zeros((50, 3), "float32"), y=np.zeros(50))
        args[2] = str(tmp_path / "wide.npz")
    elif kind == "string_labels":
        np.savez(tmp_path / "str.npz", x=c.x, y=np.array(["a"] * len(c.x)))
        args[2] = str(tmp_path / "str.npz")
    elif kind == "empty_arrays":
        np.savez(tmp_path / "e.npz", x=np.zeros((0, 6)), y=np.zeros(0))
        args[2] = str(tmp_path / "e.npz")
    elif kind == "scalar":
        np.savez(tmp_path / "s.npz", x=np.float32(1), y=np.float32(2))
        args[2] = str(tmp_path / "s.npz")
    elif kind == "complex":
        np.savez(tmp_path / "c.npz", x=c.x.astype(complex), y=c.y)
        args[2] = str(tmp_path / "c.npz")
    elif kind == "output_is_input":
        args += ["-o", str(model)]
    elif kind == "output_folder_missing":
        args += ["-o", str(tmp_path / "no" / "such" / "fixed.keras")]
    elif kind == "unknown_task":
        args += ["--task", "ranking"]
    elif kind == "unknown_strategy":
        args += ["--strategies", "normalize_inputs,magic"]
    elif kind == "negative_budget":
        args += ["--budget", "-5"]
    elif kind == "zero_epochs":
        args += ["--epochs", "0"]
    return args


BAD = ["missing_model", "directory", "empty_model", "not_zip", "truncated", "bad_h5", "pickled",
       "missing_y", "length_mismatch", "wrong_width", "string_labels", "empty_arrays", "scalar",
       "complex", "output_is_input", "output_folder_missing", "unknown_task", "unknown_strategy",
       "negative_budget"]


OPTION_KINDS = {"output_is_input", "output_folder_missing", "unknown_task", "unknown_strategy",
                "negative_budget", "zero_epochs"}
BAD.append("zero_epochs")


@pytest.mark.parametrize("kind", BAD)
def test_bad_input_exits_2_with_one_line(kind, files, tmp_path):
    model, data, _ = files["zero_init"]
    before = (_digest(model), _digest(data))
    fixed = model.with_name("model.fixed.keras")
    had_fixed = fixed.exists()
    args = _bad(tmp_path, files, kind)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (kind, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("autofix: error:")
    if kind not in OPTION_KINDS:  # a problem with a file names the file
        assert args[1] in lines[0] or args[2] in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert (_digest(model), _digest(data)) == before
    assert fixed.exists() == had_fixed


def test_lambda_layer_needs_unsafe_load(tmp_path):
    import keras

    inputs = keras.Input((2,))
    outputs = keras.layers.Dense(1)(keras.layers.Lambda(lambda t: t * 2.0)(inputs))
    keras.Model(inputs, outputs).save(tmp_path / "lambda.keras")
    np.savez(tmp_path / "d.npz", x=np.zeros((20, 2), "float32"), y=np.zeros(20))
    result = runner.invoke(app, ["diagnose", str(tmp_path / "lambda.keras"), str(tmp_path / "d.npz")])
    assert result.exit_code == 2
    assert "--unsafe-load" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
