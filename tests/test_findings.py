"""Every finding code fires on its broken case and stays quiet on healthy models."""

import numpy as np
import pytest

from autofix.diagnosis import data_checks, training_checks
from autofix.diagnosis.findings import CODES, Finding, codes
from autofix.inputs.task import infer_task
from autofix.judge import Judgement

HEALTHY = ("healthy", "healthy_classifier")

#: finding code -> the scenario whose broken model must show it
BROKEN = {
    "degenerate_predictions": "zero_init",
    "unscaled_inputs": "unnormalized_inputs",
    "unscaled_targets": "unscaled_targets",
    "output_activation_mismatch": "relu_output_signed_targets",
    "loss_mismatch": "mse_on_onehot",
    "label_encoding": "labels_one_to_k",
    "symmetric_init": "zero_init",
    "dead_units": "dead_relu",
    "learning_rate_too_high": "learning_rate_too_high",
    "learning_rate_too_low": "learning_rate_too_low",
    "undertrained": "too_few_epochs",
    "nonfinite_loss": "sgd_unscaled",
    "vanishing_gradients": "deep_sigmoid",
    "constant_target": "all_zero_labels",
    "target_leakage": "leaked_target_column",
    "class_imbalance": "imbalanced_collapse",
    "no_signal": "noise_labels",
    "frozen_layers": "frozen_layers",
    "narrow_bottleneck": "narrow_bottleneck",
    "heavy_dropout": "heavy_dropout",
}


@pytest.mark.parametrize("code", sorted(BROKEN))
def test_finding_fires_on_its_broken_scenario(code, diagnosed):
    _, diagnosis = diagnosed(BROKEN[code])
    found = {f.code: f for f in diagnosis.findings}
    assert code in found, [str(f) for f in diagnosis.findings]
    finding = found[code]
    assert finding.message and finding.evidence
    assert finding.severity in ("error", "warning")


@pytest.mark.parametrize("scenario", HEALTHY)
def test_healthy_models_have_no_findings(scenario, diagnosed):
    _, diagnosis = diagnosed(scenario)
    assert diagnosis.healthy
    assert diagnosis.findings == [], [str(f) for f in diagnosis.findings]


def test_every_contract_code_is_covered():
    covered = set(BROKEN) | {"nonfinite_data", "absent_classes",
                             "underperforming_weights",  # below, and tests/test_multi_output.py
                             "fit_error",  # tests/test_first_hour.py
                             "below_reference"}  # tests/test_search.py
    assert set(CODES) <= covered


def test_nonfinite_data_fires_and_stays_quiet():
    x = np.ones((20, 3))
    y = np.arange(20, dtype=float)
    assert data_checks.nonfinite_data(x, y) == []
    x[3, 1] = np.nan
    y[7] = np.inf
    (finding,) = data_checks.nonfinite_data(x, y)
    assert finding.code == "nonfinite_data"
    assert finding.evidence["rows_x"] == 1 and finding.evidence["rows_y"] == 1
    assert "3" in finding.message


def test_absent_classes_fires_and_stays_quiet():
    y = np.eye(3)[np.arange(30) % 3]
    task = infer_task(y)
    assert data_checks.absent_classes(task, y) == []
    y = np.eye(4)[np.arange(30) % 3]
    (finding,) = data_checks.absent_classes(infer_task(y), y)
    assert finding.evidence["absent_columns"] == [3]


def test_unscaled_inputs_message_names_the_features():
    rng = np.random.default_rng(0)
    x = np.stack([rng.random(100), 1000 * rng.random(100)], axis=1)

    class NoLayers:
        layers = []

    (finding,) = data_checks.unscaled_inputs(NoLayers(), x)
    assert "feature 1" in finding.message and "feature 0" in finding.message
    assert finding.evidence["span_ratio"] > 500
    assert data_checks.unscaled_inputs(NoLayers(), rng.normal(size=(100, 2))) == []


def test_class_imbalance_needs_a_collapse():
    y = np.array([0] * 90 + [1] * 10, dtype=float)
    task = infer_task(y)
    collapsed = Judgement(0.5, 0.5, 0.1, True, True, "")
    assert codes(training_checks.class_imbalance(task, y, np.zeros(100, int), collapsed)) == {"class_imbalance"}
    fine = Judgement(0.9, 0.5, 0.1, False, False, "")
    assert training_checks.class_imbalance(task, y, y.astype(int), fine) == []


def test_finding_rejects_unknown_codes():
    with pytest.raises(ValueError):
        Finding("not_a_code", "error", "x")


def test_unscaled_inputs_is_quiet_when_the_model_reads_ids():
    import keras

    x = np.random.default_rng(0).integers(1, 5000, size=(100, 12))
    model = keras.Sequential([keras.Input((12,), dtype="int32"), keras.layers.Embedding(5000, 8),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1)])
    assert data_checks.unscaled_inputs(model, x) == []


# --- frozen_layers and narrow_bottleneck: broken cases and healthy look-alikes -----------

def _trained(layers, x, y, *, epochs=30, freeze=(), loss="mse"):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((x.shape[1],)), *layers])
    for i in freeze:
        model.layers[i].trainable = False
    model.compile(optimizer="adam", loss=loss)
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return model


def _static(model, x, y, epochs=30):
    from autofix.diagnosis.diagnose import static_diagnosis
    from autofix.inputs.preparation import prepare

    problem, _ = prepare(model, x, y, epochs=epochs)
    return static_diagnosis(problem)


def _regression_signal(n=400):
    from autofix.bench.scenarios import _signal

    return _signal(np.random.default_rng(0), n)


def test_frozen_layers_is_an_error_when_only_the_head_can_train_on_random_features():
    import keras

    x, y = _regression_signal()
    model = _trained([keras.layers.Dense(8, activation="tanh"),
                      keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)],
                     x, y, freeze=(0, 1))
    found = {f.code: f for f in _static(model, x, y).findings}
    assert found["frozen_layers"].severity == "error"
    evidence = found["frozen_layers"].evidence
    assert evidence["hidden_trainable_share"] == 0 and evidence["trainable_parameters"] == 9
    assert set(evidence["frozen_layers"]) == {model.layers[0].name, model.layers[1].name}


def test_frozen_layers_is_quiet_on_a_healthy_fine_tuned_model():
    """A pretrained feature extractor, frozen, under a new head that learns."""
    import keras

    x, y = _regression_signal()
    pretrained = _trained([keras.layers.Dense(32, activation="relu"),
                           keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)],
                          x, y, epochs=40)
    base = keras.Sequential(pretrained.layers[:-1], name="pretrained_base")
    base.trainable = False
    inputs = keras.Input((x.shape[1],))
    model = keras.Model(inputs, keras.layers.Dense(1, name="new_head")(base(inputs)))
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    diagnosis = _static(model, x, y, epochs=20)
    assert not diagnosis.given.degenerate
    assert "frozen_layers" not in codes(diagnosis.findings), [str(f) for f in diagnosis.findings]


def test_frozen_layers_is_quiet_when_a_frozen_first_layer_does_not_stop_learning():
    import keras

    x, y = _regression_signal()
    model = _trained([keras.layers.Dense(32, activation="relu"),
                      keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)],
                     x, y, freeze=(0,))
    assert "frozen_layers" not in codes(_static(model, x, y).findings)


def _squares(n=400):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x[:, :4] ** 2).sum(axis=1) - 2 * x[:, 4] ** 2 + 0.1 * rng.normal(size=n)
    return x, y.astype("float32")


def test_narrow_bottleneck_fires_on_a_width_one_layer_in_a_nonlinear_regression():
    import keras

    x, y = _squares()
    model = _trained([keras.layers.Dense(1, activation="relu"),
                      keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)], x, y)
    found = {f.code: f for f in _static(model, x, y).findings}
    assert found["narrow_bottleneck"].severity == "error"
    assert found["narrow_bottleneck"].evidence["layers"] == [model.layers[0].name]
    assert found["narrow_bottleneck"].evidence["wanted"] == [16]


def test_narrow_bottleneck_is_quiet_on_a_funnel_regression():
    """64-32-16-1: every hidden layer at least as wide as the output needs."""
    import keras

    x, y = _squares()
    model = _trained([keras.layers.Dense(64, activation="relu"),
                      keras.layers.Dense(32, activation="relu"),
                      keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)], x, y)
    diagnosis = _static(model, x, y)
    assert "narrow_bottleneck" not in codes(diagnosis.findings), [str(f) for f in diagnosis.findings]


def test_narrow_bottleneck_is_quiet_when_the_narrow_model_learns():
    """A two-unit layer on a target it can carry: the model learns, nothing to widen."""
    import keras

    x, y = _regression_signal()
    model = _trained([keras.layers.Dense(32, activation="relu"), keras.layers.Dense(2),
                      keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)], x, y)
    assert "narrow_bottleneck" not in codes(_static(model, x, y).findings)


def test_heavy_dropout_is_quiet_on_a_model_that_learns_under_dropout():
    """Dropout 0.5 on a regression it still learns: a regularized model, nothing to lower."""
    import keras

    x, y = _regression_signal()
    model = _trained([keras.layers.Dense(64, activation="relu"), keras.layers.Dropout(0.5),
                      keras.layers.Dense(1)], x, y)
    assert "heavy_dropout" not in codes(_static(model, x, y).findings)


def test_heavy_dropout_names_recurrent_dropout_too():
    import keras

    from autofix.model.anatomy import dropout_rates

    model = keras.Sequential([keras.Input((5, 2)), keras.layers.GRU(4, recurrent_dropout=0.8),
                              keras.layers.Dropout(0.1), keras.layers.Dense(1)])
    assert dropout_rates(model) == {model.layers[0].name: 0.8, model.layers[1].name: 0.1}


def test_underperforming_weights_fires_when_the_setup_retrained_does_far_better():
    from autofix.diagnosis.diagnose import Diagnosis
    from autofix.judge import Judgement

    def verdict(metric):
        return Judgement(metric, 0.0, 0.1, metric < 0.1, False, f"r2 {metric}")

    reference = {"metric": 0.95, "constant": 0.0, "degenerate": False}
    behind = Diagnosis(given=verdict(0.14), rerun=verdict(0.93), reference=reference, metric="r2")
    behind.refresh()
    assert behind.weights_behind and not behind.healthy
    (finding,) = [f for f in behind.findings if f.code == "underperforming_weights"]
    assert finding.severity == "error" and "0.140" in finding.message and "0.930" in finding.message
    # quiet: weights that do as well as their setup, and a setup that does no better
    for given, rerun in [(0.9, 0.93), (0.14, 0.2), (0.14, 0.5)]:
        quiet = Diagnosis(given=verdict(given), rerun=verdict(rerun), reference=reference,
                          metric="r2")
        quiet.refresh()
        assert not quiet.weights_behind
        assert "underperforming_weights" not in {f.code for f in quiet.findings}
