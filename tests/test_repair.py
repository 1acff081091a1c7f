"""End to end through the Python API (every scenario through the CLI: test_cli_scenarios.py)."""

import keras
import numpy as np
import pytest

import autofix


def test_report_has_the_contract_keys(case):
    c = case("zero_init")
    result = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size)
    report = result.report()
    assert set(report) >= {"autofix_version", "status", "task", "metric", "baseline", "findings",
                           "attempts", "fix", "seconds"}
    assert report["task"] == "regression" and report["metric"] == "r2"
    assert set(report["baseline"]) >= {"constant", "original"}
    for attempt in report["attempts"]:
        assert set(attempt) >= {"strategies", "params", "metric", "degenerate", "epochs", "seconds"}
    assert set(report["fix"]) >= {"strategies", "params", "metric", "model_path"}
    for finding in report["findings"]:
        assert set(finding) == {"code", "severity", "message", "evidence"}


def test_fixed_model_is_a_drop_in_replacement(case, tmp_path):
    c = case("unscaled_targets")
    result = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size)
    assert result.status == "repaired"
    path = result.save(tmp_path / "fixed.keras")
    assert result.report()["fix"]["model_path"] == str(path)
    loaded = keras.models.load_model(path)
    pred = loaded.predict(c.x[:50], verbose=0)
    assert pred.shape == (50, 1)
    # predictions come back in the units of y (the scaling is undone inside the model)
    assert abs(float(pred.mean()) - float(c.y.mean())) < 0.2 * float(c.y.std())


def test_same_seed_same_report(case):
    c = case("zero_init")
    first = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size, seed=3)
    second = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size, seed=3)

    def strip(report):
        report = dict(report)
        report.pop("seconds")
        report["attempts"] = [{k: v for k, v in a.items() if k != "seconds"} for a in report["attempts"]]
        return report

    assert strip(first.report()) == strip(second.report())
    x = c.x[:20]
    np.testing.assert_allclose(first.model.predict(x, verbose=0), second.model.predict(x, verbose=0))


def test_strategies_option_limits_the_search(case):
    c = case("zero_init")
    result = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size,
                            strategies=["normalize_inputs"])
    for attempt in result.attempts:
        assert set(attempt.candidate.strategies) <= {"normalize_inputs"}
    assert result.status == "unrepairable"


def test_unknown_strategy_is_an_input_error(case):
    c = case("zero_init")
    with pytest.raises(autofix.InputError, match="unknown strategy"):
        autofix.repair(c.model, c.x, c.y, strategies=["no_such_thing"])


def test_validation_data_is_used_when_given(case):
    c = case("healthy")
    result = autofix.repair(c.model, c.x[:400], c.y[:400], validation_data=(c.x[400:], c.y[400:]),
                            epochs=c.epochs)
    assert result.status == "healthy"


def _relu_layer_head_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    outputs = keras.layers.ReLU()(keras.layers.Dense(1)(hidden))
    return keras.Model(inputs, outputs)


def test_functional_model_with_an_activation_layer_head_is_repaired():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 5)).astype("float32")
    y = (x[:, 0] - x[:, 1] - 3).astype("float32")
    model = _relu_layer_head_model()
    model.compile(optimizer="adam", loss="mse")
    # not trained here: how many ReLU units the user's own fit leaves dead depends on the
    # float rounding of multithreaded kernels, and dead units add a second repair
    result = autofix.repair(model, x, y, epochs=20)
    assert result.status == "repaired"
    assert "output_activation_mismatch" in {f.code for f in result.findings}
    assert "swap_output_activation" in result.report()["fix"]["strategies"]


def test_a_model_barely_above_baseline_with_a_known_cause_is_not_healthy():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.images[..., None].astype("float32")
    y = np.eye(10, dtype="float32")[digits.target]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(8, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="relu")])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=10, verbose=0)
    result = autofix.repair(model, x, y, epochs=10)
    report = result.report()
    assert result.status == "repaired", report["findings"]
    assert report["fix"]["metric"] > report["baseline"]["original"] + 0.3
