"""Subclassed ``keras.Model``s: repaired through a Functional view of the built model (in
Python, and from a ``.keras`` file with ``--import`` in a process that never saw the class),
and one clear line for a model that was never built."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from sklearn.metrics import r2_score
from typer.testing import CliRunner

import autofix
from autofix.cli import app
from autofix.errors import InputError

MODELS = textwrap.dedent("""
    import keras

    @keras.saving.register_keras_serializable(package="SubclassTest")
    class Regressor(keras.Model):
        def __init__(self, hidden=32, **kwargs):
            super().__init__(**kwargs)
            self.hidden = hidden
            self.inner = keras.layers.Dense(hidden, activation="relu")
            self.head = keras.layers.Dense(1)

        def call(self, x):
            return self.head(self.inner(x))

        def get_config(self):
            return {**super().get_config(), "hidden": self.hidden}
""")


def _data(n=1000, seed=0):
    """A smooth target of features on scales from 1 to 1e5."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 5)).astype("float32")
    y = (np.sin(z[:, 0]) + z[:, 1] - 0.5 * z[:, 2] * z[:, 3]).astype("float32")
    return z * np.array([1, 1e3, 1e5, 10, 1e4], dtype="float32"), y


@pytest.fixture(scope="module")
def regressor_class(tmp_path_factory):
    folder = tmp_path_factory.mktemp("subclassed")
    (folder / "my_models.py").write_text(MODELS)
    space: dict = {}
    exec(compile(MODELS, str(folder / "my_models.py"), "exec"), space)
    return space["Regressor"], folder


def test_a_built_subclassed_model_is_repaired_in_python(regressor_class):
    Regressor, _ = regressor_class
    x, y = _data()
    keras.utils.set_random_seed(0)
    model = Regressor()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x[:800], y[:800], epochs=5, verbose=0)
    weights = [w.copy() for w in model.get_weights()]
    result = autofix.repair(model, x[:800], y[:800], epochs=5)
    assert result.status == "repaired", result.report()["attempts"]
    assert "normalize_inputs" in result.fix["strategies"]
    # the edit for the user's script wraps their model: it has no Input line to edit
    assert ("model = keras.Sequential([keras.Input(shape=(5,)), normalizer, model])"
            in [e["after"] for e in result.fix["edits"]])
    assert any(isinstance(layer, Regressor) for layer in result.model._flatten_layers())
    assert r2_score(y[800:], result.model.predict(x[800:], verbose=0)[:, 0]) > 0.8
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))


def test_a_subclassed_model_that_was_never_built_is_one_clear_line(regressor_class):
    Regressor, _ = regressor_class
    x, y = _data(100)
    with pytest.raises(InputError, match=r"not built.*model\.build\(\(None, features\)\)"):
        autofix.repair(Regressor(), x, y)


def test_a_saved_subclassed_model_is_repaired_with_import(regressor_class):
    """Saved by another process; repaired with --import of the user's own file; the fixed
    model loads in a fresh process that imports that file, and predicts held-out rows."""
    _, folder = regressor_class
    x, y = _data(1000, seed=1)
    np.savez(folder / "data.npz", x=x[:800], y=y[:800])
    np.savez(folder / "held.npz", x=x[800:], y=y[800:])
    save = MODELS + textwrap.dedent("""
        import numpy as np
        keras.utils.set_random_seed(0)
        data = np.load("data.npz")
        model = Regressor()
        model.compile(optimizer="adam", loss="mse")
        model.fit(data["x"], data["y"], epochs=5, verbose=0)
        model.save("sub.keras")
    """)
    proc = subprocess.run([sys.executable, "-c", save], cwd=folder, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = CliRunner().invoke(app, ["repair", str(folder / "sub.keras"), str(folder / "data.npz"),
                                      "--epochs", "5", "--import", str(folder / "my_models.py"),
                                      "-o", str(folder / "fixed.keras"), "--quiet"])
    assert result.exit_code == 0, result.output
    check = textwrap.dedent("""
        import numpy as np, keras, my_models
        from sklearn.metrics import r2_score
        held = np.load("held.npz")
        fixed = keras.models.load_model("fixed.keras")
        print(r2_score(held["y"], fixed.predict(held["x"], verbose=0)[:, 0]))
    """)
    proc = subprocess.run([sys.executable, "-c", check], cwd=folder, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert float(proc.stdout.strip().splitlines()[-1]) > 0.8
