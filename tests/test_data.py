"""Data loading, validation and task inference."""

import numpy as np
import pytest

from autofix.errors import InputError
from autofix.inputs.data import load_npz, validate_xy
from autofix.inputs.task import class_ids, infer_task
from autofix.judge import clear_margin, judge


@pytest.mark.parametrize("xkey,ykey", [("x", "y"), ("X", "Y"), ("x_train", "y_train")])
def test_npz_key_aliases(tmp_path, xkey, ykey):
    path = tmp_path / "d.npz"
    np.savez(path, **{xkey: np.ones((12, 2)), ykey: np.arange(12)})
    data = load_npz(path)
    assert data.x.shape == (12, 2) and data.y.shape == (12,)
    assert data.x_val is None


def test_npz_validation_rows(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((12, 2)), y=np.arange(12), x_val=np.ones((11, 2)), y_val=np.arange(11))
    data = load_npz(path)
    assert data.x_val.shape == (11, 2)


def test_npz_with_only_x_val_is_refused(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((12, 2)), y=np.arange(12), x_val=np.ones((11, 2)))
    with pytest.raises(InputError, match="x_val"):
        load_npz(path)


def test_object_arrays_are_never_unpickled(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.array([[1, None]] * 12, dtype=object), y=np.arange(12))
    with pytest.raises(InputError, match="pickle"):
        load_npz(path)


def test_validation_messages_say_how_to_fix():
    with pytest.raises(InputError, match=r"reshape"):
        validate_xy(np.ones(12), np.ones(12))
    with pytest.raises(InputError, match="inconsistent numbers of samples"):
        validate_xy(np.ones((12, 2)), np.ones(11))
    with pytest.raises(InputError, match="LabelEncoder"):
        validate_xy(np.ones((12, 2)), np.array(["a"] * 12))


@pytest.mark.parametrize("y,kind,fmt", [
    (np.random.default_rng(0).normal(size=50), "regression", "values"),
    (np.arange(50) % 2, "binary", "ids"),
    ((np.arange(50) % 2).reshape(-1, 1).astype(float), "binary", "ids"),
    (np.arange(50) % 4, "multiclass", "ids"),
    (np.eye(3)[np.arange(50) % 3], "multiclass", "onehot"),
    (np.eye(2)[np.arange(50) % 2], "binary", "onehot"),
    ((np.random.default_rng(0).random((50, 3)) > 0.5).astype(float), "multilabel", "indicator"),
    (np.random.default_rng(0).integers(25, 350, size=50), "regression", "values"),
])
def test_task_inference(y, kind, fmt):
    task = infer_task(y)
    assert (task.kind, task.label_format) == (kind, fmt)


def test_forced_task_and_unknown_task():
    assert infer_task(np.arange(50) % 3, "regression").kind == "regression"
    with pytest.raises(InputError, match="unknown task"):
        infer_task(np.arange(50) % 3, "ranking")


def test_integer_ids_under_a_regression_setup_stay_regression():
    y = np.arange(60) % 5
    assert infer_task(y, output_units=1, regression_setup=True).kind == "regression"
    assert infer_task(y, output_units=5).kind == "multiclass"
    assert infer_task(y, output_units=1, regression_setup=True,
                      output_activation="linear").kind == "regression"


def test_integer_ids_under_mse_on_a_sigmoid_unit_are_classes():
    """Digits 0..9 regressed by MSE through one sigmoid unit: a probability head trained
    with a regression loss is a classifier built wrong, not a regression of digit values."""
    y = np.arange(100) % 10
    task = infer_task(y, output_units=1, regression_setup=True, output_activation="sigmoid")
    assert task.kind == "multiclass" and task.n_classes == 10


def test_class_ids_keep_the_label_values():
    task = infer_task(np.array([3, 7] * 10))  # unit k is class id k: ids stay the user's
    assert list(class_ids(task, np.array([7, 3, 7]))) == [7, 3, 7]
    task = infer_task(np.array([-1.0, 1.0] * 10))  # no unit -1: ranked
    assert list(class_ids(task, np.array([1.0, -1.0]))) == [1, 0]


def test_judge_constant_and_good_predictions():
    rng = np.random.default_rng(0)
    y_train, y_val = rng.normal(size=200), rng.normal(size=100)
    task = infer_task(y_train)
    constant = judge(task, y_train, y_val, np.full((100, 1), y_train.mean()))
    assert constant.degenerate and constant.near_constant
    good = judge(task, y_train, y_val, y_val + 0.1 * rng.normal(size=100))
    assert not good.degenerate and good.metric > 0.9
    noise = judge(task, y_train, y_val, rng.normal(size=100))
    assert noise.degenerate and not noise.near_constant


def test_margin_shrinks_with_rows():
    assert clear_margin(100) > clear_margin(10_000) >= 0.05
