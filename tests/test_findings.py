"""Every finding code fires on its broken case and stays quiet on healthy models."""

import numpy as np
import pytest

from autofix.diagnosis import data_checks, training_checks
from autofix.findings import CODES, Finding, codes
from autofix.judge import Judgement
from autofix.task import infer_task

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
                             "fit_error"}  # fit_error: tests/test_first_hour.py
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
