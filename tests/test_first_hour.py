"""What a new user hits in the first hour: NaN models, dead or saturated outputs, noisy but
healthy losses, a fit that crashes, fixed models that must be compiled, file modes, noise on
stderr. Each test builds the user's model from scratch."""

import json
import math
import os
import stat
import subprocess
import sys

import keras
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

import autofix
from autofix.cli import app
from autofix.diagnosis.findings import plain
from autofix.diagnosis.training_checks import _oscillates
from autofix.training.fit import error_text

runner = CliRunner()
NUMBER_FIELDS = {"metric", "constant", "original", "reference", "recovery", "seconds", "budget",
                 "epochs", "learning_rate"}


def _refuse(constant):
    raise ValueError(f"non-standard JSON constant {constant}")


def strict_report(text: str) -> dict:
    """Parse ``text`` as strict JSON and check that every number field holds a number or
    null: never a string, never NaN or Infinity."""
    report = json.loads(text, parse_constant=_refuse)

    def walk(value, key=None, top=False):
        if isinstance(value, dict):
            for k, v in value.items():
                if not (top and k == "metric"):  # the report's own "metric" names the metric
                    walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif key in NUMBER_FIELDS:
            assert value is None or isinstance(value, (int, float)) and not isinstance(value, bool), \
                (key, value)
            assert value is None or math.isfinite(value), (key, value)

    walk(report, top=True)
    return report


def _save(folder, model, x, y):
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    np.savez(folder / "data.npz", x=x, y=y)
    return str(folder / "model.keras"), str(folder / "data.npz")


def _nan_model(x):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    weights = model.get_weights()
    weights[0][0, 0] = np.nan  # what a diverged SGD run leaves behind
    model.set_weights(weights)
    return model


def test_plain_numbers_are_numbers_or_null():
    assert plain({"a": float("nan"), "b": [np.float32("inf"), 1.5], "c": np.float64(2)}) == \
        {"a": None, "b": [None, 1.5], "c": 2.0}


def test_a_model_predicting_nan_gives_strict_json_from_every_command(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5)).astype("float32")
    y = (x[:, 0] - x[:, 1]).astype("float32")
    model, data = _save(tmp_path, _nan_model(x), x, y)
    result = runner.invoke(app, ["diagnose", model, data, "--json", "--epochs", "10"])
    assert result.exit_code == 1, result.output
    report = strict_report(result.stdout)
    assert report["baseline"]["original"] is None
    result = runner.invoke(app, ["diagnose", model, data, "--epochs", "10"])  # the table view
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    result = runner.invoke(app, ["repair", model, data, "--epochs", "10", "--quiet",
                                 "--report", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")])
    assert result.exit_code in (0, 1), result.output
    strict_report((tmp_path / "r.json").read_text())
    assert "autofix report" in (tmp_path / "r.html").read_text()


def _diabetes_dead_relu_head(bias=-50.0):
    data = load_diabetes()
    x, y = data.data.astype("float32"), data.target.astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(1, activation="relu", name="head",
                                                 bias_initializer=keras.initializers.Constant(bias))])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=5, verbose=0)
    return model, x, y


def test_a_dead_relu_output_is_named_and_not_read_as_a_low_learning_rate():
    model, x, y = _diabetes_dead_relu_head()
    findings = {f.code: f for f in autofix.diagnose(model, x, y, epochs=5)}
    assert "dead_units" in findings, [str(f) for f in findings.values()]
    assert "'head'" in findings["dead_units"].message and findings["dead_units"].severity == "error"
    assert findings["dead_units"].evidence["output_layer"] == "head"
    assert "learning_rate_too_low" not in findings


def test_a_saturated_sigmoid_output_is_named():
    data = load_breast_cancer()
    x = StandardScaler().fit_transform(data.data).astype("float32")
    y = data.target.astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid", name="head",
                                                 bias_initializer=keras.initializers.Constant(60.0))])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    findings = {f.code: f for f in autofix.diagnose(model, x, y, epochs=5)}
    assert "dead_units" in findings and "saturated" in findings["dead_units"].message


def test_only_the_allowed_strategies_are_tried_even_when_no_finding_asks(tmp_path):
    model, x, y = _diabetes_dead_relu_head()
    result = autofix.repair(model, x, y, epochs=5, strategies=["rescale_targets"])
    assert result.attempts, "the allowed strategy was never tried"
    assert all(a.candidate.strategies == ("rescale_targets",) for a in result.attempts)
    result = autofix.repair(model, x, y, epochs=5, strategies=["reinitialize_weights"])
    assert result.attempts and result.attempts[0].candidate.strategies == ("reinitialize_weights",)


def test_oscillation_needs_a_loss_that_makes_no_progress():
    noisy_but_falling = [3.04, 2.2, 1.8, 1.66, 1.77, 1.53, 1.49, 1.55, 1.41, 1.32, 1.15, 1.09, 1.15,
                         1.18, 1.14, 0.9, 0.97, 1.01, 1.06, 0.86, 0.86, 0.91, 0.88, 0.91, 0.83]
    assert not _oscillates(noisy_but_falling)
    assert not _oscillates([0.766, 0.479, 0.142, 0.139, 0.129, 0.131, 0.128])
    assert not _oscillates([0.05, 0.049, 0.051, 0.048, 0.05, 0.049])  # converged, jittering
    assert _oscillates([0.7, 1.2, 0.6, 1.5, 0.8, 1.3, 0.7, 1.1])


def test_a_healthy_batchnorm_dropout_model_gets_no_learning_rate_warning():
    data = load_diabetes()
    x = StandardScaler().fit_transform(data.data).astype("float32")
    y = ((data.target - data.target.mean()) / data.target.std()).astype("float32")
    keras.utils.set_random_seed(0)
    layers = [keras.Input((10,))]
    for width in (64, 32):
        layers += [keras.layers.Dense(width, activation="relu"), keras.layers.BatchNormalization(),
                   keras.layers.Dropout(0.3)]
    model = keras.Sequential(layers + [keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=40, verbose=0)
    findings = autofix.diagnose(model, x, y, epochs=40)
    assert "learning_rate_too_high" not in {f.code for f in findings}, [str(f) for f in findings]


def _softmax_bce_on_ids():
    data = load_wine()
    x = StandardScaler().fit_transform(data.data).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((13,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model, x, data.target


def test_a_fit_that_crashes_is_quoted_and_the_loss_is_named_for_ids():
    model, x, y = _softmax_bce_on_ids()
    with pytest.raises(ValueError) as raised:  # the user's own fit
        model.fit(x, y, epochs=1, verbose=0)
    findings = {f.code: f for f in autofix.diagnose(model, x, y, epochs=10)}
    assert "fit_error" in findings, [str(f) for f in findings.values()]
    keras_words = str(raised.value).split(".")[0][:40]
    assert keras_words in findings["fit_error"].message
    assert "integer class ids" in findings["loss_mismatch"].message
    assert "one-hot" not in findings["loss_mismatch"].message
    degenerate = findings["degenerate_predictions"]
    assert degenerate.evidence["retrained"]["error"].startswith("ValueError")
    result = autofix.repair(model, x, y, epochs=10)
    assert result.status == "repaired"


def test_a_graph_error_is_quoted_by_its_cause_not_by_the_stack_above_it():
    """Labels 1..3 under a 3-unit softmax: TensorFlow's message is a stack of 20 frames, and
    the cause ("label value of 3 ... outside the valid range") comes last."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = np.tile([1, 2, 3], 22)[:64]
    with pytest.raises(Exception) as raised:
        model.fit(x, y, epochs=1, verbose=0)
    assert 'File "' in str(raised.value)  # the stack autofix leaves out
    text = error_text(raised.value)
    assert "label value of 3" in text and 'File "' not in text and "[[" not in text
    # an ordinary one-line error is kept whole
    assert error_text(ValueError("shapes differ")) == "ValueError: shapes differ"


def test_the_fixed_model_is_compiled_with_the_repairs_setup(tmp_path, case):
    c = case("unnormalized_inputs")
    result = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size)
    assert result.status == "repaired" and "normalize_inputs" in result.fix["strategies"]
    compiled = result.report()["fix"]["compiled"]
    assert compiled["optimizer"] and compiled["loss"] and compiled["learning_rate"] > 0
    path = result.save(tmp_path / "fixed.keras")
    loaded = keras.models.load_model(path)
    assert loaded.optimizer is not None
    assert math.isclose(float(loaded.optimizer.learning_rate.numpy()), compiled["learning_rate"],
                        rel_tol=1e-6)
    history = loaded.fit(c.x, c.y, epochs=1, verbose=0)  # the user's next fit just works
    assert math.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_outputs_follow_the_umask_and_stderr_stays_clean(umask, tmp_path, case):
    c = case("zero_init")
    model, data = _save(tmp_path, c.model, c.x, c.y)
    code = ("import os, sys\n"
            f"os.umask({umask})\n"
            "from autofix.cli import main\n"
            "sys.argv = ['autofix'] + sys.argv[1:]\n"
            "main()\n")
    report = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-c", code, "repair", model, data, "--quiet", "--report",
                           str(report), "--epochs", str(c.epochs)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = 0o666 & ~umask
    for path in (report, tmp_path / "model.fixed.keras"):
        assert stat.S_IMODE(path.stat().st_mode) == expected, (path, oct(path.stat().st_mode))
    assert "Warning" not in proc.stderr and "WARNING" not in proc.stderr, proc.stderr


def test_an_attempts_repr_is_one_short_line(case):
    c = case("zero_init")
    result = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size)
    text = repr(result.attempts[0])
    assert len(text) < 200 and "\n" not in text and "reinitialize_weights" in text
