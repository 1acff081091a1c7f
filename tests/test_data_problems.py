"""Problems in the data: a leaked label, NaN rows, and when they stop the repair.

* ``target_leakage`` means a feature that *is* the label in disguise (an affine copy of a
  regression target, a discrete recoding of the classes), never a feature that merely
  predicts y well: one-feature data, separable clusters and forecasting windows are signal.
* A model that works only because of a leak is ``unrepairable``; a degenerate model is
  repaired whatever the data shows, the leak staying in the report.
* Rows with NaN/inf are dropped and counted (a warning), and the repair goes on.
"""

import keras
import numpy as np
import pytest

import autofix
from autofix.diagnosis import data_checks
from autofix.diagnosis.diagnose import Diagnosis
from autofix.diagnosis.findings import Finding
from autofix.errors import InputError
from autofix.inputs.preparation import prepare
from autofix.inputs.task import infer_task
from autofix.judge import Judgement


def _leak(x, y):
    return data_checks.target_leakage(infer_task(y), np.asarray(x, "float32"),
                                      np.asarray(y, "float64"))


def _signal(rng, n=400):
    x = rng.normal(size=(n, 4))
    return x, x @ np.array([1.0, 2.0, -1.0, 0.5]) + 0.3 * rng.normal(size=n)


def _blobs(rng, classes, n=400, d=4):
    """Gaussian blobs of unit spread whose centers lie 10 apart along every feature."""
    ids = rng.integers(0, classes, size=n)
    centers = 10.0 * np.arange(classes)[:, None] + rng.uniform(-1, 1, size=(classes, d))
    return centers[ids] + rng.normal(size=(n, d)), ids.astype(float)


def _sine_windows(rng, n=400, window=20):
    """x: ``window`` past steps of a smooth noisy sine; y: the next step."""
    t = np.arange(n + window)
    series = np.sin(2 * np.pi * t / 60) + 0.05 * rng.normal(size=len(t))
    x = np.stack([series[i:i + window] for i in range(n)])[:, :, None]
    return x, series[window:window + n]


# ----------------------------------------------------------------------------- target_leakage


def test_leak_fires_on_a_regression_target_copied_scaled_and_shifted():
    x, y = _signal(np.random.default_rng(0))
    (finding,) = _leak(np.c_[x, 2.5 * y + 7], y)
    assert finding.code == "target_leakage" and finding.severity == "error"
    assert finding.evidence["features"] == [4] and finding.evidence["measure"] == "affine_copy"
    assert finding.evidence["slope"] == pytest.approx(0.4, rel=1e-4)
    assert finding.evidence["residual_ratio"][0] < 1e-3
    assert "feature 4" in finding.message


@pytest.mark.parametrize("labels", ["ids", "onehot"])
def test_leak_fires_on_a_recoding_of_the_classes(labels):
    rng = np.random.default_rng(1)
    x, _ = _signal(rng)
    ids = rng.integers(0, 3, size=len(x))
    y = ids.astype(float) if labels == "ids" else np.eye(3)[ids]
    (finding,) = _leak(np.c_[x, 10 - 3 * ids], y)  # another coding of the same classes
    assert finding.evidence["features"] == [4] and finding.evidence["measure"] == "recoding"
    assert finding.evidence["distinct_values"] == [3]


def test_leak_fires_on_the_leaked_label_scenario(case):
    c = case("leaked_target_column")
    (finding,) = _leak(c.x, c.y)
    assert finding.evidence["features"] == [c.x.shape[1] - 1]


def test_a_feature_that_nearly_copies_y_is_not_a_copy():
    """Correlation 0.9995 is a strong predictor, not the label in disguise."""
    x, y = _signal(np.random.default_rng(2))
    near = y + 0.03 * y.std() * np.random.default_rng(3).normal(size=len(y))
    assert np.corrcoef(near, y)[0, 1] > 0.999
    assert _leak(np.c_[x, near], y) == []


def test_a_class_feature_that_is_only_mostly_right_is_not_a_recoding():
    rng = np.random.default_rng(4)
    x, _ = _signal(rng)
    y = rng.integers(0, 2, size=len(x)).astype(float)
    noisy = np.where(rng.random(len(y)) < 0.02, 1 - y, y)
    assert _leak(np.c_[x, noisy], y) == []


@pytest.mark.parametrize("data", ["exact", "noisy"])
def test_leak_is_quiet_on_one_feature_linear_data(data):
    """The model's only input is the data itself, even when y = 2x + 1 exactly."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 1))
    y = 2 * x[:, 0] + 1 if data == "exact" else 3 * x[:, 0] + 0.1 * rng.normal(size=400)
    assert _leak(x, y) == []


@pytest.mark.parametrize("classes", [2, 3])
def test_leak_is_quiet_on_separable_clusters(classes):
    """A continuous feature whose threshold separates the classes is signal."""
    x, y = _blobs(np.random.default_rng(6), classes)
    from sklearn.tree import DecisionTreeClassifier

    # the blobs are separable by one feature's threshold: what the old check called a leak
    assert DecisionTreeClassifier(max_depth=2).fit(x[:200, :1], y[:200]).score(x[200:, :1], y[200:]) > 0.99
    assert _leak(x, y) == []


def test_leak_is_quiet_on_forecasting_windows():
    """y_t+1 is close to the window's last step y_t, not equal to it."""
    x, y = _sine_windows(np.random.default_rng(7))
    assert np.corrcoef(x[:, -1, 0], y)[0, 1] > 0.99
    assert _leak(x, y) == []


@pytest.mark.parametrize("name", ["healthy", "healthy_classifier", "one_feature_linear",
                                  "separable_clusters", "forecasting_windows"])
def test_leak_is_quiet_on_healthy_and_legitimate_signal_scenarios(name, case):
    c = case(name)
    assert _leak(c.x, c.y) == []


# ----------------------------------------------------------------- when a data problem blocks


def _diagnosis(code, degenerate):
    return Diagnosis(static=[Finding(code, "error", "x", {})],
                     given=Judgement(0.5, 0.5, 0.1, degenerate, degenerate, ""))


def test_leak_blocks_only_a_model_that_works():
    assert _diagnosis("target_leakage", degenerate=False).data_problem
    leaky_broken = _diagnosis("target_leakage", degenerate=True)
    assert not leaky_broken.data_problem
    assert not leaky_broken.explained  # a leak does not explain a model that learned nothing
    assert _diagnosis("constant_target", degenerate=True).data_problem
    assert _diagnosis("constant_target", degenerate=False).data_problem
    assert not _diagnosis("unscaled_inputs", degenerate=True).data_problem


def test_a_degenerate_model_with_a_leaked_column_is_repaired():
    """Softmax over one unit predicts 1.0 whatever the data: the leak does not make it
    learn, so it is repaired, and the leak stays in the report."""
    rng = np.random.default_rng(8)
    x, score = _signal(rng, 300)
    y = (score > np.median(score)).astype("float32")
    x = np.c_[x, y].astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="softmax")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, y, epochs=3, verbose=0)
    result = autofix.repair(model, x, y, epochs=10)
    assert result.status == "repaired", [str(f) for f in result.findings]
    assert result.exit_code == 0
    leak = next(f for f in result.findings if f.code == "target_leakage")
    assert leak.severity == "error" and leak.evidence["features"] == [4]


def test_a_model_that_works_only_because_of_a_leak_is_unrepairable(case):
    c = case("leaked_target_column")  # labels are noise; the last column is the label
    result = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size)
    report = result.report()
    assert result.status == "unrepairable" and result.exit_code == 1
    assert report["attempts"] == [] and report["fix"] is None
    assert not result.diagnosis.given.degenerate
    assert any(f.code == "target_leakage" and f.severity == "error" for f in result.findings)


# --------------------------------------------------------------------------------- NaN rows


def test_nonfinite_data_is_a_warning_that_counts_the_dropped_rows():
    x, y = np.ones((50, 3)), np.arange(50, dtype=float)
    x_val, y_val = np.ones((20, 3)), np.arange(20, dtype=float)
    assert data_checks.nonfinite_data(x, y, x_val, y_val) == []
    x[[3, 9], 1] = np.nan
    y[[9, 12]] = np.inf
    y_val[0] = np.nan
    (finding,) = data_checks.nonfinite_data(x, y, x_val, y_val)
    assert finding.severity == "warning"
    ev = finding.evidence
    assert (ev["rows_x"], ev["rows_y"], ev["rows_dropped"], ev["rows_left"]) == (2, 2, 3, 47)
    assert (ev["validation_rows_dropped"], ev["validation_rows_left"]) == (1, 19)
    assert "dropped 3 of 50 training rows and 1 of 20 validation rows" in finding.message
    assert "unless the data is cleaned" in finding.message


def _tiny_model(d=3):
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_prepare_drops_nonfinite_rows_from_training_and_validation_data():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(100, 3)), rng.normal(size=100)
    x_val, y_val = rng.normal(size=(30, 3)), rng.normal(size=30)
    x[:4, 0], y[10] = np.nan, np.inf
    x_val[5, 2], y_val[6] = np.nan, np.nan
    problem, early = prepare(_tiny_model(), x, y, validation_data=(x_val, y_val))
    assert [f.code for f in early] == ["nonfinite_data"]
    assert (len(problem.x), len(problem.y), len(problem.x_val), len(problem.y_val)) == (95, 95, 28, 28)
    for a in (problem.x, problem.y, problem.x_val, problem.y_val):
        assert np.isfinite(a).all()
    assert early[0].evidence["rows_dropped"] == 5 and early[0].evidence["validation_rows_dropped"] == 2


def test_prepare_is_quiet_on_finite_data_and_refuses_too_few_finite_rows():
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    problem, early = prepare(_tiny_model(), x, y)
    assert early == [] and len(problem.x) + len(problem.x_val) == 40
    x[:39, 1] = np.nan
    with pytest.raises(InputError, match="free of NaN"):
        prepare(_tiny_model(), x, y)


def test_nan_rows_in_the_validation_data_are_dropped_and_the_model_repaired(case):
    c = case("nan_rows")
    cut = int(0.8 * len(c.x))
    x_val, y_val = c.x[cut:].copy(), c.y[cut:].copy()
    y_val[:3] = np.nan
    result = autofix.repair(c.model, c.x[:cut], c.y[:cut], validation_data=(x_val, y_val),
                            epochs=c.epochs, batch_size=c.batch_size)
    assert result.status == "repaired", [str(f) for f in result.findings]
    (finding,) = [f for f in result.findings if f.code == "nonfinite_data"]
    assert finding.severity == "warning"
    assert finding.evidence["rows_x"] == int((~np.isfinite(c.x[:cut])).any(axis=1).sum()) > 0
    assert finding.evidence["validation_rows_dropped"] >= 3
    assert np.isfinite(result.model.predict(x_val[np.isfinite(x_val).all(axis=1)], verbose=0)).all()
