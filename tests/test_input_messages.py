"""The input mistakes of a user's first hour: each is one clear line (or, for a legacy .h5
Keras cannot recompile, one note), with real files, the inputs left byte-identical."""

import json
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from autofix.cli import app

runner = CliRunner()
ROWS = 30


def _model(keras, compile_kwargs=None):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(**(compile_kwargs or {"optimizer": "adam", "loss": "mse"}))
    return model


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A tiny regression data set, a .keras and an .h5 model (SGD(0.05), loss "mse")."""
    import keras

    root = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, 3)).astype("float32")
    np.savez(root / "data.npz", x=x, y=x[:, 0] - x[:, 1])
    model = _model(keras, {"optimizer": keras.optimizers.SGD(0.05), "loss": "mse",
                           "metrics": ["mae"]})
    model.save(root / "model.keras")
    model.save(root / "m.h5")
    return root


@pytest.fixture(scope="module")
def custom(tmp_path_factory):
    """Models saved by another process whose classes do not exist in this one."""
    root = tmp_path_factory.mktemp("custom")
    code = textwrap.dedent("""
        import numpy as np, keras

        @keras.saving.register_keras_serializable()
        class MyModel(keras.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.dense = keras.layers.Dense(1)
            def call(self, x):
                return self.dense(x)

        @keras.saving.register_keras_serializable()
        class Doubler(keras.layers.Layer):
            def call(self, x):
                return 2.0 * x

        sub = MyModel()
        sub(np.zeros((2, 3), "float32"))
        sub.compile(optimizer="adam", loss="mse")
        sub.save("sub.keras")
        inputs = keras.Input((3,))
        layered = keras.Model(inputs, keras.layers.Dense(1)(Doubler()(inputs)))
        layered.compile(optimizer="adam", loss="mse")
        layered.save("layer.keras")
        layered.save("layer.h5")
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                          timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root


def _run(args, inputs):
    """Invoke the CLI; return (result, stderr lines) after checking the inputs are unchanged."""
    before = {str(p): p.read_bytes() for p in inputs}
    result = runner.invoke(app, [str(a) for a in args])
    after = {str(p): p.read_bytes() for p in inputs}
    assert before == after, "an input file changed"
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return result, lines


def _one_error(args, inputs, path):
    result, lines = _run(args, inputs)
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"autofix: error: {path}:"), lines[0]
    return lines[0]


# --- 1. a legacy .h5 compiled with loss="mse" -----------------------------------------------

def test_h5_with_mse_loads_and_keeps_its_training_setup(folder):
    from autofix.model.loading import load_model
    from autofix.training.training_setup import canonical_loss

    notes = []
    model = load_model(folder / "m.h5", notes=notes)
    assert type(model.optimizer).__name__ == "SGD"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    assert canonical_loss(model.loss)[0] == "mean_squared_error"
    assert len(notes) == 1
    assert "training_config" in notes[0] and "SGD(learning_rate=0.05)" in notes[0]
    assert "mean_squared_error" in notes[0] and notes[0].startswith(f"{folder / 'm.h5'}:")


def test_h5_with_mse_runs_in_the_cli_with_one_note(folder):
    model, data = folder / "m.h5", folder / "data.npz"
    result, lines = _run(["diagnose", model, data, "--epochs", "2"], [model, data])
    assert result.exit_code in (0, 1), result.output
    assert not [line for line in lines if line.startswith("autofix: error:")]
    notes = [line for line in lines if line.startswith("autofix: note:")]
    assert len(notes) == 1, result.stderr
    assert notes[0].startswith(f"autofix: note: {model}:") and "SGD(learning_rate=0.05)" in notes[0]


#: training_config attributes as tf_keras 2.21 writes them (copied from real files), and one
#: in the older form (Keras 2.2: "lr", "decay")
KERAS2_CONFIGS = {
    "adam_mse": (('{"loss": "mse", "metrics": [[{"class_name": "MeanMetricWrapper", "config": '
                 '{"name": "mae", "dtype": "float32", "fn": "mean_absolute_error"}}]], '
                 '"weighted_metrics": null, "loss_weights": null, "optimizer_config": '
                 '{"class_name": "Custom>Adam", "config": {"name": "Adam", "weight_decay": null, '
                 '"clipnorm": null, "global_clipnorm": null, "clipvalue": null, "use_ema": false, '
                 '"ema_momentum": 0.99, "ema_overwrite_frequency": null, "jit_compile": false, '
                 '"is_legacy_optimizer": false, "learning_rate": 0.003000000026077032, '
                 '"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": false}}}'),
                 "Adam", 0.003, "mean_squared_error"),
    "rmsprop_cce": (('{"loss": {"class_name": "CategoricalCrossentropy", "config": {"reduction": '
                    '"auto", "name": "categorical_crossentropy", "from_logits": false, '
                    '"label_smoothing": 0.1, "axis": -1, "fn": "categorical_crossentropy"}}, '
                    '"metrics": null, "weighted_metrics": null, "loss_weights": null, '
                    '"optimizer_config": {"class_name": "Custom>RMSprop", "config": {"name": '
                    '"RMSprop", "weight_decay": null, "clipnorm": null, "global_clipnorm": null, '
                    '"clipvalue": null, "use_ema": false, "ema_momentum": 0.99, '
                    '"ema_overwrite_frequency": 100, "jit_compile": false, "is_legacy_optimizer": '
                    'false, "learning_rate": 0.0010000000474974513, "rho": 0.9, "momentum": 0.0, '
                    '"epsilon": 1e-07, "centered": false}}}'),
                    "RMSprop", 0.001, "categorical_crossentropy"),
    "old_sgd": (('{"loss": "mean_squared_error", "metrics": [], "sample_weight_mode": null, '
                '"loss_weights": null, "optimizer_config": {"class_name": "SGD", "config": '
                '{"lr": 0.02, "momentum": 0.0, "decay": 0.0, "nesterov": false}}}'),
                "SGD", 0.02, "mean_squared_error"),
}


@pytest.mark.parametrize("name", sorted(KERAS2_CONFIGS))
def test_h5_with_keras2_training_config(folder, tmp_path, name):
    import h5py

    from autofix.model.loading import load_model
    from autofix.training.training_setup import canonical_loss

    config, optimizer, rate, loss = KERAS2_CONFIGS[name]
    path = tmp_path / "old.h5"
    path.write_bytes((folder / "m.h5").read_bytes())
    with h5py.File(path, "r+") as handle:
        handle.attrs["training_config"] = config
    notes = []
    model = load_model(path, notes=notes)
    assert type(model.optimizer).__name__ == optimizer
    assert float(model.optimizer.learning_rate) == pytest.approx(rate)
    assert canonical_loss(model.loss)[0] == loss
    assert len(notes) == 1 and f"{optimizer}(learning_rate={rate:g})" in notes[0]
    if name == "rmsprop_cce":
        assert model.loss.get_config()["label_smoothing"] == pytest.approx(0.1)


def test_h5_whose_training_config_cannot_be_used_loads_uncompiled(folder, tmp_path):
    import h5py

    from autofix.model.loading import load_model

    path = tmp_path / "custom_loss.h5"
    path.write_bytes((folder / "m.h5").read_bytes())
    with h5py.File(path, "r+") as handle:
        config = json.loads(handle.attrs["training_config"])
        config["loss"] = "my_secret_loss"
        handle.attrs["training_config"] = json.dumps(config)
    notes = []
    model = load_model(path, notes=notes)
    assert getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None
    assert len(notes) == 1 and "uncompiled" in notes[0] and "my_secret_loss" in notes[0]


# --- 2. MODEL and DATA swapped -------------------------------------------------------------

@pytest.mark.parametrize("command", ["repair", "diagnose"])
@pytest.mark.parametrize("model_name", ["model.keras", "m.h5"])
def test_swapped_arguments(folder, command, model_name):
    model, data = folder / model_name, folder / "data.npz"
    line = _one_error([command, data, model], [model, data], data)
    assert "did you swap MODEL and DATA?" in line
    assert str(model) in line
    assert not (folder / "data.fixed.keras").exists()


def test_csv_given_as_model_with_model_as_data_is_swapped(folder, tmp_path):
    csv, model = tmp_path / "data.csv", folder / "model.keras"
    csv.write_text("a,b,y\n" + "1,2,3\n" * ROWS)
    line = _one_error(["repair", csv, model], [csv, model], csv)
    assert "did you swap MODEL and DATA?" in line and "CSV" in line


# --- 3. DATA that is not an .npz archive ---------------------------------------------------

def _write_data(kind, tmp_path, folder):
    x = np.ones((ROWS, 3), "float32")
    if kind == "csv":
        path = tmp_path / "data.csv"
        np.savetxt(path, np.c_[x, np.arange(ROWS)], delimiter=",", header="a,b,c,y")
    elif kind == "tsv":
        path = tmp_path / "data.tsv"
        np.savetxt(path, np.c_[x, np.arange(ROWS)], delimiter="\t")
    elif kind == "json":
        path = tmp_path / "data.json"
        path.write_text(json.dumps({"x": x.tolist(), "y": list(range(ROWS))}))
    elif kind == "npy":
        path = tmp_path / "data.npy"
        np.save(path, x)
    elif kind == "npy_objects":
        path = tmp_path / "objects.npy"
        np.save(path, np.array([{"a": 1}] * ROWS, dtype=object), allow_pickle=True)
    elif kind == "pickle":
        path = tmp_path / "data.pkl"
        path.write_bytes(pickle.dumps({"x": x, "y": np.arange(ROWS)}))
    elif kind == "pickle_named_npz":
        path = tmp_path / "pickled.npz"
        path.write_bytes(pickle.dumps({"x": x, "y": np.arange(ROWS)}))
    elif kind == "keras":
        path = tmp_path / "model_copy.keras"
        path.write_bytes((folder / "model.keras").read_bytes())
    elif kind == "h5":
        path = tmp_path / "model_copy.h5"
        path.write_bytes((folder / "m.h5").read_bytes())
    elif kind == "zip":
        import zipfile

        path = tmp_path / "data.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("data.csv", "a,y\n1,2\n")
    elif kind == "binary":
        path = tmp_path / "data.bin"
        path.write_bytes(bytes(range(256)) * 4)
    return path


NOT_NPZ = {  # kind: words the message must hold
    "json": ["JSON/text file"],
    "npy": ["single NumPy array (.npy)"], "npy_objects": ["single NumPy array (.npy)"],
    "pickle": ["Python pickle", "never loads"], "pickle_named_npz": ["Python pickle"],
    "keras": ["Keras model archive"], "h5": ["Keras .h5 model"],
    "zip": ["zip archive without .npy arrays"], "binary": ["no format autofix knows"],
}


@pytest.mark.parametrize("kind", sorted(NOT_NPZ))
def test_data_that_is_not_an_npz_says_what_it_is(kind, folder, tmp_path):
    model, data = folder / "model.keras", _write_data(kind, tmp_path, folder)
    line = _one_error(["repair", model, data], [model, data], data)
    for words in NOT_NPZ[kind]:
        assert words in line, line
    assert "not an .npz archive" in line and 'np.savez("data.npz", x=X, y=y)' in line
    assert "need pickle" not in line
    assert "swap" not in line


@pytest.mark.parametrize("kind", ["csv", "tsv"])
def test_a_table_without_target_asks_for_the_column_to_predict(kind, folder, tmp_path):
    model, data = folder / "model.keras", _write_data(kind, tmp_path, folder)
    line = _one_error(["repair", model, data], [model, data], data)
    assert "is a table (CSV); name the column to predict with --target (its columns:" in line


def test_npz_with_object_arrays_still_needs_pickle(folder, tmp_path):
    model, data = folder / "model.keras", tmp_path / "objects.npz"
    np.savez(data, x=np.array([{"a": 1}] * ROWS, dtype=object), y=np.zeros(ROWS))
    line = _one_error(["diagnose", model, data], [model, data], data)
    assert "object arrays that need pickle" in line


def test_data_given_as_model_is_named(folder, tmp_path):
    csv, data = tmp_path / "table.csv", folder / "data.npz"
    csv.write_text("a,b,y\n" + "1,2,3\n" * ROWS)
    line = _one_error(["diagnose", csv, data], [csv, data], csv)
    assert "CSV/text file, not a Keras model" in line


def test_weights_file_given_as_model(folder, tmp_path):
    import keras

    weights, data = tmp_path / "m.weights.h5", folder / "data.npz"
    _model(keras).save_weights(weights)
    line = _one_error(["diagnose", weights, data], [weights, data], weights)
    assert "without a model" in line and "save_weights" in line


# --- 4. subclassed models and custom layers ------------------------------------------------

def test_subclassed_model_from_another_process(custom, folder):
    model, data = custom / "sub.keras", folder / "data.npz"
    line = _one_error(["repair", model, data], [model, data], model)
    assert "subclassed model" in line and "'MyModel'" in line
    assert "--import my_models.py" in line
    assert "Could not locate" not in line


@pytest.mark.parametrize("name", ["layer.keras", "layer.h5"])
def test_custom_layer_from_another_process(custom, folder, name):
    model, data = custom / name, folder / "data.npz"
    line = _one_error(["diagnose", model, data], [model, data], model)
    assert "custom class 'Doubler'" in line
    assert "--import my_layers.py" in line and "custom_objects=" in line
    assert "--unsafe-load does not help" in line


def test_unsafe_load_does_not_change_the_custom_class_message(custom, folder):
    model, data = custom / "layer.keras", folder / "data.npz"
    line = _one_error(["diagnose", model, data, "--unsafe-load"], [model, data], model)
    assert "custom class 'Doubler'" in line


def test_import_brings_the_users_custom_layer(tmp_path, folder):
    """A model saved with a custom layer loads once the user's own file is imported; the
    class name is one no other test registers in this process."""
    code = textwrap.dedent("""
        import keras

        @keras.saving.register_keras_serializable(package="ImportTest")
        class Tripler(keras.layers.Layer):
            def call(self, x):
                return 3.0 * x
    """)
    (tmp_path / "my_layers.py").write_text(code)
    save = code + textwrap.dedent("""
        inputs = keras.Input((3,))
        model = keras.Model(inputs, keras.layers.Dense(1)(Tripler()(inputs)))
        model.compile(optimizer="adam", loss="mse")
        model.save("tripled.keras")
    """)
    proc = subprocess.run([sys.executable, "-c", save], cwd=tmp_path, capture_output=True,
                          text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    model, data = tmp_path / "tripled.keras", folder / "data.npz"
    line = _one_error(["diagnose", model, data], [model, data], model)
    assert "custom class 'Tripler'" in line and "--import my_layers.py" in line
    result, _ = _run(["diagnose", model, data, "--import", tmp_path / "my_layers.py"], [model, data])
    assert result.exit_code in (0, 1), result.output  # loaded and diagnosed


@pytest.mark.parametrize("source,words", [
    ("missing_layers.py", "--import missing_layers.py: no such file"),
    ("no_such_module_xyz", "--import no_such_module_xyz: could not find it"),
    ("broken.py", "--import broken.py: importing it raised (ZeroDivisionError"),
    ("needs_more.py", "--import needs_more.py: importing it raised (ModuleNotFoundError"),
    ("notes.txt", "--import notes.txt: is not a Python file (.py) or a module name"),
    ("sub", "--import sub: is a folder"),
    ("broken", "--import broken: importing it raised (ZeroDivisionError"),  # a module beside us
])
def test_import_mistakes_are_one_line(tmp_path, folder, source, words, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "broken", raising=False)
    (tmp_path / "broken.py").write_text("1 / 0\n")
    (tmp_path / "needs_more.py").write_text("import no_such_package_xyz\n")
    (tmp_path / "notes.txt").write_text("not python\n")
    (tmp_path / "sub").mkdir()
    model, data = folder / "model.keras", folder / "data.npz"
    result, lines = _run(["diagnose", model, data, "--import", source], [model, data])
    assert result.exit_code == 2
    assert len(lines) == 1 and words in lines[0], lines
