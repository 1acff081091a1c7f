"""Class labels keep the user's values (output unit k is class id k), and labels the head
or the loss cannot read as they are get a ``label_encoding`` finding and a repair."""

import keras
import numpy as np
import pytest

import autofix
from autofix.diagnosis import model_checks
from autofix.inputs.preparation import prepare
from autofix.inputs.task import class_ids, infer_task, label_step
from autofix.judge import judge, predicted_labels
from autofix.reporting.terminal import verdict_line
from autofix.training.fit import encode_targets
from autofix.training.training_setup import TrainingSetup

SOFTMAX10 = {"output_units": 10, "output_activation": "softmax"}


# --- task inference and class ids -------------------------------------------------------

def test_ids_from_zero_are_their_own_ids():
    y = np.arange(60) % 4
    task = infer_task(y)
    assert (task.kind, task.label_format, task.n_classes, task.width) == ("multiclass", "ids", 4, 4)
    np.testing.assert_array_equal(class_ids(task, y), y)


def test_ids_from_one_keep_their_values_and_need_one_more_unit():
    y = np.arange(60) % 3 + 1
    task = infer_task(y)
    assert task.kind == "multiclass" and task.classes == (1, 2, 3)
    assert task.n_classes == 3 and task.width == 4  # unit 0 exists, unused
    np.testing.assert_array_equal(class_ids(task, y), y)  # never re-coded to 0..2


def test_ids_with_gaps_are_classes_only_with_the_models_evidence():
    y = np.array([0, 5, 9] * 20)
    assert infer_task(y).kind == "regression"  # no model: integers with gaps are values
    wide = infer_task(y, **SOFTMAX10)  # a softmax head with a unit per id
    assert (wide.kind, wide.classes, wide.width) == ("multiclass", (0, 5, 9), 10)
    np.testing.assert_array_equal(class_ids(wide, y), y)
    assert infer_task(y, output_units=1, classification_setup=True).kind == "multiclass"
    # a one-output regression setup keeps them values
    assert infer_task(y, output_units=1, regression_setup=True).kind == "regression"
    # a softmax with fewer units than distinct labels is no evidence
    assert infer_task(y, output_units=2, output_activation="softmax").kind == "regression"


def test_onehot_columns_keep_their_order():
    ids = np.array([2, 0, 1, 2, 1, 0] * 5)
    y = np.eye(3)[ids]
    task = infer_task(y)
    assert (task.kind, task.label_format, task.width) == ("multiclass", "onehot", 3)
    np.testing.assert_array_equal(class_ids(task, y), ids)


def test_binary_zero_one_and_a_sigmoid():
    y = np.array([0, 1, 1, 0] * 10)
    task = infer_task(y)
    assert (task.kind, task.width) == ("binary", 2) and task.unit_ids
    np.testing.assert_array_equal(class_ids(task, y), y)
    sigmoid = np.array([[0.2], [0.9]])
    np.testing.assert_array_equal(predicted_labels(task, sigmoid), [0, 1])


def test_binary_minus_one_one_is_ranked_and_a_sigmoid_gives_the_larger_label():
    y = np.array([-1, 1, 1, -1] * 10)
    task = infer_task(y)
    assert task.kind == "binary" and task.classes == (-1, 1) and not task.unit_ids
    np.testing.assert_array_equal(class_ids(task, y), (y > 0).astype(int))  # -1 -> 0, 1 -> 1
    # a sigmoid unit learns P(y == 1); a two-unit softmax: unit 0 is -1, unit 1 is 1
    targets = encode_targets(task, TrainingSetup(loss="binary_crossentropy"), y, 1)
    np.testing.assert_array_equal(targets[:, 0], (y == 1).astype("float32"))
    np.testing.assert_array_equal(predicted_labels(task, np.array([[0.8], [0.1]])), [1, 0])
    sparse = encode_targets(task, TrainingSetup(loss="sparse_categorical_crossentropy"), y, 2)
    np.testing.assert_array_equal(sparse, (y == 1).astype("int32"))


def test_binary_one_two_under_a_sigmoid_learns_the_larger_label():
    y = np.array([1, 2, 2, 1] * 10)
    task = infer_task(y)
    targets = encode_targets(task, TrainingSetup(loss="binary_crossentropy"), y, 1)
    np.testing.assert_array_equal(targets[:, 0], (y == 2).astype("float32"))
    np.testing.assert_array_equal(predicted_labels(task, np.array([[0.8], [0.1]])), [2, 1])


def test_scaled_ids_are_classes_with_a_wide_softmax():
    y = (np.arange(60) % 10) * 10
    assert infer_task(y).kind == "regression"
    task = infer_task(y, **SOFTMAX10)
    assert task.kind == "multiclass" and task.n_classes == 10 and task.width == 91
    assert label_step(task.classes) == 10
    fractional = ((np.arange(60) % 10) / 10).astype("float32")
    assert infer_task(fractional).kind == "regression"
    task = infer_task(fractional, **SOFTMAX10)
    assert task.kind == "multiclass" and not task.unit_ids
    assert label_step(task.classes) == pytest.approx(0.1)
    assert label_step([0, 1, 2]) is None and label_step([-10, 0, 10]) is None


def test_the_judge_compares_label_values():
    y_train = np.arange(90) % 3 + 1
    y_val = np.arange(30) % 3 + 1
    task = infer_task(y_train)
    right = np.eye(4)[y_val]  # unit k is class id k
    assert judge(task, y_train, y_val, right).metric == pytest.approx(1.0)
    shifted = np.eye(3)[y_val - 1]  # the old re-coding: unit 0 meant class 1
    verdict = judge(task, y_train, y_val, shifted)
    assert verdict.degenerate and verdict.metric < 0.5


# --- the label_encoding finding ------------------------------------------------------

def _model(units, activation="softmax", loss="sparse_categorical_crossentropy", d=4):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(units, activation=activation)])
    model.compile(optimizer="adam", loss=loss)
    return model


def _findings(model, y):
    x = np.random.default_rng(0).normal(size=(len(y), 4)).astype("float32")
    problem, _ = prepare(model, x, y)
    found = {}
    for check in (model_checks.label_encoding(problem.model, problem.task, problem.setup),
                  model_checks.loss_mismatch(problem.model, problem.task, problem.setup),
                  model_checks.output_activation_mismatch(problem.model, problem.task,
                                                          problem.setup, problem.y)):
        found.update({f.code: f for f in check})
    return found


def test_ids_beyond_the_head_are_found_once():
    found = _findings(_model(3), np.arange(90) % 3 + 1)
    finding = found["label_encoding"]
    assert finding.severity == "error" and finding.evidence["problems"] == ["ids_exceed_head"]
    assert finding.evidence["wanted_units"] == 4 and "id 3 has no unit" in finding.message
    assert "output_activation_mismatch" not in found  # one problem, one finding


def test_scaled_ids_are_found_with_their_constant():
    found = _findings(_model(10), (np.arange(200) % 10) * 10)
    finding = found["label_encoding"]  # integer labels keep their values: a unit per id
    assert finding.evidence["problems"] == ["ids_exceed_head"]
    assert finding.evidence["wanted_units"] == 91 and finding.evidence["scaled_by"] == 10
    assert "label_map" not in finding.evidence
    assert "scaled by 10" in finding.message and "keeps your labels" in finding.message
    fractional = ((np.arange(200) % 10) / 10).astype("float32")
    finding = _findings(_model(10), fractional)["label_encoding"]
    assert finding.evidence["problems"] == ["scaled_ids"]
    assert finding.evidence["divide_by"] == pytest.approx(0.1)
    assert "casts them to integers" in finding.message


def test_labels_that_cannot_index_a_unit_are_found():
    found = _findings(_model(2), np.array([-1, 1] * 40))
    assert found["label_encoding"].evidence["problems"] == ["not_unit_ids"]
    assert found["label_encoding"].evidence["label_map"] == {"-1": 0, "1": 1}
    sigmoid = _findings(_model(1, "sigmoid", "binary_crossentropy"), np.array([-1, 1] * 40))
    assert sigmoid["label_encoding"].evidence["problems"] == ["not_01"]


def test_ids_under_a_loss_for_onehot_rows_are_found_unless_loss_mismatch_says_it():
    binary = _findings(_model(2, loss="binary_crossentropy"), np.array([0, 1] * 40))
    assert binary["label_encoding"].evidence["problems"] == ["ids_for_rows"]
    assert binary["label_encoding"].evidence["loss"] == "sparse_categorical_crossentropy"
    assert "loss_mismatch" not in binary
    kl = _findings(_model(3, loss="kl_divergence"), np.arange(90) % 3)
    assert kl["label_encoding"].evidence["problems"] == ["ids_for_rows"]
    # categorical cross-entropy on ids is loss_mismatch's, reported once
    cce = _findings(_model(3, loss="categorical_crossentropy"), np.arange(90) % 3)
    assert "loss_mismatch" in cce and "label_encoding" not in cce


@pytest.mark.parametrize("units, activation, loss, y", [
    (3, "softmax", "sparse_categorical_crossentropy", np.arange(90) % 3),
    (10, "softmax", "sparse_categorical_crossentropy", np.array([0, 5, 9] * 30)),
    (3, "softmax", "categorical_crossentropy", np.eye(3)[np.arange(90) % 3]),
    (1, "sigmoid", "binary_crossentropy", np.array([0, 1] * 45)),
    (2, "softmax", "sparse_categorical_crossentropy", np.array([0, 1] * 45)),
], ids=["ids-0-to-k", "ids-with-gaps-wide-head", "onehot", "binary-sigmoid", "binary-softmax"])
def test_healthy_label_encodings_are_quiet(units, activation, loss, y):
    found = _findings(_model(units, activation, loss), y)
    assert not {"label_encoding", "loss_mismatch", "output_activation_mismatch"} & set(found), \
        [str(f) for f in found.values()]


@pytest.mark.parametrize("name", ["healthy", "healthy_classifier", "mse_on_onehot"])
def test_scenarios_with_sound_labels_have_no_label_finding(name, diagnosed):
    _, diagnosis = diagnosed(name)
    assert "label_encoding" not in {f.code for f in diagnosis.findings}


# --- the repair -----------------------------------------------------------------------

def test_the_users_own_fit_fails_on_labels_one_to_k(case):
    c = case("labels_one_to_k")
    twin = keras.models.clone_model(c.model)
    twin.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(Exception, match="label value of 3"):
        twin.fit(c.x, c.y, epochs=1, verbose=0)


def test_repaired_labels_one_to_k_predict_the_labels_as_they_are(case, tmp_path):
    from sklearn.model_selection import train_test_split

    c = case("labels_one_to_k")
    x, x_val, y, y_val = train_test_split(c.x, c.y, test_size=0.25, random_state=0, stratify=c.y)
    result = autofix.repair(c.model, x, y, validation_data=(x_val, y_val), epochs=c.epochs,
                            batch_size=c.batch_size)
    assert result.status == "repaired", result.report()["attempts"]
    assert "label_encoding" in {f.code for f in result.findings}
    assert "fix_label_encoding" in result.fix["strategies"]
    loaded = keras.models.load_model(result.save(tmp_path / "fixed.keras"))
    pred = loaded.predict(x_val, verbose=0)
    assert pred.shape == (len(x_val), 4)  # units 0..3: unit k is the probability of label k
    assert np.mean(pred.argmax(axis=1) == y_val) >= 0.8
    assert set(np.unique(pred.argmax(axis=1))) <= {1, 2, 3}


def test_scaled_integer_ids_keep_their_values_in_the_fixed_model():
    rng = np.random.default_rng(0)
    ids = np.arange(300) % 3
    centers = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]])
    x = (centers[ids] + 0.5 * rng.normal(size=(300, 4))).astype("float32")
    y = 10 * ids  # labels 0, 10, 20
    result = autofix.repair(_model(3), x, y, epochs=40, batch_size=16)
    assert result.status == "repaired", result.report()["attempts"]
    assert "label_map" not in result.fix["params"]
    assert "label_map" not in verdict_line(result.report())
    pred = result.model.predict(x, verbose=0)
    assert pred.shape == (300, 21)  # unit k is the class labelled k: argmax is the label
    assert np.mean(pred.argmax(axis=1) == y) >= 0.9


def test_fractional_scaled_ids_are_trained_as_ids_and_the_verdict_says_so():
    rng = np.random.default_rng(0)
    ids = np.arange(300) % 3
    centers = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]])
    x = (centers[ids] + 0.5 * rng.normal(size=(300, 4))).astype("float32")
    y = (0.1 * ids).astype("float32")  # labels 0.0, 0.1, 0.2
    result = autofix.repair(_model(3), x, y, epochs=40, batch_size=16)
    assert result.status == "repaired", result.report()["attempts"]
    assert result.fix["params"]["label_map"] == {"divide_by": pytest.approx(0.1)}
    assert "label_map" in verdict_line(result.report())
    pred = result.model.predict(x, verbose=0)
    assert pred.shape == (300, 3)  # unit k is the class labelled 0.1 * k
    assert np.mean(np.isclose(0.1 * pred.argmax(axis=1), y)) >= 0.9
