"""What the labels ask for: the task and the label format, inferred with scikit-learn.

Class ids are the user's own label values: output unit ``k`` is the probability of class
id ``k`` (Keras' convention for sparse labels), so labels 1..3 need a head of at least 4
units and one-hot columns keep their order. Labels that cannot index a unit (negative or
fractional values, e.g. -1/1) are numbered by rank: unit ``k`` is the k-th smallest label,
and a one-unit sigmoid head gives the probability of the larger of two labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.utils.multiclass import type_of_target

from autofix.errors import InputError
from autofix.options import check_task

MAX_CLASS_IDS = 50
#: the widest softmax head that integer class ids may ask for (ids up to 999)
MAX_CLASS_WIDTH = 1000


@dataclass(frozen=True)
class Task:
    """The learning task behind ``y``.

    ``kind`` is one of :data:`autofix.options.TASKS`. ``label_format`` says how ``y`` encodes it:
    ``values`` (numbers, regression), ``ids`` (class ids as a vector or column),
    ``onehot`` (one column per class, one hot per row), ``indicator`` (multilabel 0/1
    columns). ``n_classes`` is how many distinct classes there are; ``classes`` are the
    distinct label values (for ``ids``), or the column numbers (one-hot, indicator).
    """

    kind: str
    label_format: str
    n_classes: int = 0
    classes: tuple = ()

    @property
    def is_classification(self) -> bool:
        return self.kind != "regression"

    @property
    def metric(self) -> str:
        return "r2" if self.kind == "regression" else "balanced_accuracy"

    @property
    def unit_ids(self) -> bool:
        """Whether the labels are themselves output-unit indices (non-negative integers,
        or one-hot columns): then output unit ``k`` is class id ``k``. Otherwise (negative
        or fractional labels) a class's unit is its rank among the labels."""
        if self.label_format != "ids":
            return self.label_format in ("onehot", "indicator")
        return all(float(c) >= 0 and float(c).is_integer() for c in self.classes)

    @property
    def width(self) -> int:
        """How many output units the labels need: the largest class id + 1 (ids 1..3 need
        4), the number of columns (one-hot), or the number of classes (ranked labels)."""
        if self.label_format == "ids" and self.unit_ids and self.classes:
            return int(max(self.classes)) + 1
        return self.n_classes

    def to_dict(self) -> dict:
        return {"kind": self.kind, "label_format": self.label_format, "n_classes": self.n_classes}


def _is_onehot(y: np.ndarray) -> bool:
    return bool(np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1))


def label_step(values) -> float | None:
    """The constant ``c != 1`` that the labels are multiples of (0, 10, 20... -> 10;
    0.0, 0.1, 0.2... -> 0.1), or None: labels that are class ids scaled by ``c``.

    Needs at least two distinct non-negative labels, every one ``c`` times an integer.
    """
    v = np.unique(np.asarray(values, dtype="float64"))
    if len(v) < 2 or v.min() < 0 or not np.all(np.isfinite(v)):
        return None
    positive = np.concatenate([v[v > 0], np.diff(v)])
    step = float(positive.min())
    if np.all(v == np.round(v)):
        step = float(math.gcd(*(int(x) for x in v)))
    else:
        step = float(f"{step:.6g}")  # 0.1 stored in float32 is 0.10000000149
    ratio = v / step
    if step <= 0 or step == 1 or not np.allclose(ratio, np.round(ratio), rtol=0, atol=1e-3):
        return None
    return step


def infer_task(y: np.ndarray, forced: str = "auto", *, output_units: int | None = None,
               regression_setup: bool = False, classification_setup: bool = False,
               output_activation: str | None = None) -> Task:
    """Infer the task from ``y`` with :func:`sklearn.utils.multiclass.type_of_target`.

    Integer targets with many values or gaps (counts, prices) are regression; integer
    ids ``0..K-1`` (or ``1..K``) are classes, unless the model itself is set up as a
    single-output regression (``regression_setup``: a regression loss over one unit whose
    ``output_activation`` is not a probability's, sigmoid or softmax). The model's evidence of
    classification (``classification_setup``: a classification loss; or a softmax
    ``output_activation`` over at least as many ``output_units`` as there are distinct
    labels) makes other few-valued labels class ids too: ids with gaps (0, 5, 9), ids
    scaled by a constant (0, 10, ..., 90 or 0.0, 0.1, ..., 0.9), negative ids. ``forced``
    overrides the inference.
    """
    check_task(forced)
    y = np.asarray(y)
    finite = y[np.all(np.isfinite(y.reshape(len(y), -1)), axis=1)] if y.size else y
    y2 = finite.reshape(len(finite), -1)
    columns = y2.shape[1]
    if columns > 1 and len(y2) and np.all((y2 == 0) | (y2 == 1)):
        onehot = _is_onehot(y2)
        if forced in ("auto", "multiclass", "binary") and (onehot or forced != "auto"):
            if onehot or forced in ("multiclass", "binary"):
                kind = "binary" if columns == 2 and forced != "multiclass" else "multiclass"
                return Task(kind, "onehot", columns, tuple(range(columns)))
        if forced in ("auto", "multilabel"):
            return Task("multilabel", "indicator", columns, tuple(range(columns)))
    if forced == "regression":
        return Task("regression", "values", 0, ())
    if columns > 1:
        if forced in ("binary", "multiclass", "multilabel"):
            raise InputError(
                f"--task {forced} needs one-hot or 0/1 indicator columns, but y has {columns} "
                "columns of other values"
            )
        return Task("regression", "values", 0, ())
    flat = y2.ravel()
    target = type_of_target(flat) if len(flat) else "continuous"
    values = np.unique(flat)
    integral = bool(len(values)) and np.all(values == np.round(values))
    if forced in ("binary", "multiclass"):
        if not integral:
            raise InputError(f"--task {forced} needs integer class ids in y, found fractional values")
        kind = forced if forced == "multiclass" else "binary"
        return Task(kind, "ids", len(values), tuple(values.tolist()))
    if forced == "multilabel":
        raise InputError("--task multilabel needs y with one 0/1 column per label")
    if target == "binary" and not (len(values) < 2 and regression_setup):
        return Task("binary", "ids", len(values), tuple(values.tolist()))
    units = output_units or 1
    # a one-unit regression loss says "values", unless the head squashes its output into a
    # probability (sigmoid/softmax): then mse on ids 0..9 is a classifier built wrong
    one_output_regression = regression_setup and units == 1 and \
        output_activation not in ("sigmoid", "softmax")
    if target == "multiclass" and integral:
        contiguous = values.min() >= 0 and values.max() - values.min() + 1 == len(values) \
            and values.max() < MAX_CLASS_WIDTH  # (years 2001..2010 are values, not ids)
        if contiguous and len(values) <= MAX_CLASS_IDS and not one_output_regression:
            return Task("multiclass", "ids", len(values), tuple(values.tolist()))
    # few distinct labels that the model itself treats as classes
    softmax_head = output_activation == "softmax" and units >= max(2, len(values))
    if (classification_setup or softmax_head) and 2 < len(values) <= MAX_CLASS_IDS:
        if integral and (values.min() < 0 or values.max() < MAX_CLASS_WIDTH):
            return Task("multiclass", "ids", len(values), tuple(values.tolist()))
        if not integral and units >= len(values):  # fractional labels over a wide head
            return Task("multiclass", "ids", len(values), tuple(values.tolist()))
    return Task("regression", "values", 0, ())


def class_ids(task: Task, y: np.ndarray) -> np.ndarray:
    """The class id per row for single-label classification (multilabel: 0/1 as is).

    Labels that are non-negative integers are their own ids (labels 1, 2, 3 stay 1, 2,
    3: output unit k is class id k); one-hot rows give their hot column; other labels
    (negative or fractional) give their rank among ``task.classes``.
    """
    y = np.asarray(y)
    if task.label_format == "onehot":
        return np.argmax(y.reshape(len(y), -1), axis=1)
    if task.label_format == "indicator":
        return (y.reshape(len(y), -1) > 0.5).astype(int)
    flat = y.reshape(len(y), -1)[:, 0]
    if task.unit_ids:
        return np.rint(flat).astype(int).clip(0, None)
    return np.searchsorted(np.asarray(task.classes), flat).clip(0, max(task.n_classes - 1, 0))


def class_ids_of_classes(task: Task) -> np.ndarray:
    """The class id of each entry of ``task.classes``, in order."""
    if task.label_format != "ids":
        return np.arange(task.n_classes)
    return class_ids(task, np.asarray(task.classes, dtype="float64"))


def divided_task(task: Task, divide_by: float) -> Task:
    """The task of labels ``y / divide_by`` (scaled class ids restored to 0, 1, 2...)."""
    ids = tuple(int(v) for v in np.rint(np.asarray(task.classes, dtype="float64") / divide_by))
    return Task(task.kind, "ids", len(ids), ids)


def wanted_output(task: Task, units: int) -> tuple[str, int]:
    """(activation, units) an output layer needs to predict this task's targets.

    Unit k is class id k: ids up to K need at least K + 1 units (labels 1..3 need 4); a
    wider head over ids is kept (its extra units are classes y never shows). One-hot
    columns need exactly one unit each."""
    if task.kind == "regression":
        return "linear", units
    if task.kind == "multilabel":
        return "sigmoid", task.n_classes
    if task.kind == "binary" and task.label_format == "ids":
        return ("softmax", max(units, task.width)) if units >= 2 else ("sigmoid", 1)
    if task.label_format == "onehot" and units == 1 and task.n_classes == 2:
        return "sigmoid", 1
    if task.label_format == "ids" and units >= 2:
        return "softmax", max(units, task.width)
    return "softmax", task.width


def default_loss(task: Task, output_units: int) -> str:
    """The loss that fits the task, the label format and the output width."""
    if task.kind == "regression":
        return "mean_squared_error"
    if task.kind == "multilabel":
        return "binary_crossentropy"
    if task.label_format == "onehot":
        return "binary_crossentropy" if output_units == 1 else "categorical_crossentropy"
    if task.kind == "binary" and output_units == 1:
        return "binary_crossentropy"
    return "sparse_categorical_crossentropy"
