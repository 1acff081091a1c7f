"""What the labels ask for: the task and the label format, inferred with scikit-learn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils.multiclass import type_of_target

from .errors import InputError

TASKS = ("regression", "binary", "multiclass", "multilabel")
MAX_CLASS_IDS = 50


@dataclass(frozen=True)
class Task:
    """The learning task behind ``y``.

    ``kind`` is one of :data:`TASKS`. ``label_format`` says how ``y`` encodes it:
    ``values`` (numbers, regression), ``ids`` (integer class ids as a vector or column),
    ``onehot`` (one column per class, one hot per row), ``indicator`` (multilabel 0/1
    columns). ``classes`` are the distinct class ids (for ``ids``).
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

    def to_dict(self) -> dict:
        return {"kind": self.kind, "label_format": self.label_format, "n_classes": self.n_classes}


def _is_onehot(y: np.ndarray) -> bool:
    return bool(np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1))


def infer_task(y: np.ndarray, forced: str = "auto", *, output_units: int | None = None,
               regression_setup: bool = False) -> Task:
    """Infer the task from ``y`` with :func:`sklearn.utils.multiclass.type_of_target`.

    Integer targets with many values or gaps (counts, prices) are regression; integer
    ids ``0..K-1`` are classes, unless the model itself is set up as a single-output
    regression (``regression_setup``). ``forced`` overrides the inference.
    """
    if forced not in ("auto",) + TASKS:
        raise InputError(f"unknown task {forced!r}; expected auto, {', '.join(TASKS)}")
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
    if target == "multiclass" and integral:
        contiguous = values.min() >= 0 and values.max() - values.min() + 1 == len(values)
        if contiguous and len(values) <= MAX_CLASS_IDS and not (
            regression_setup and (output_units or 1) == 1
        ):
            return Task("multiclass", "ids", len(values), tuple(values.tolist()))
    return Task("regression", "values", 0, ())


def class_ids(task: Task, y: np.ndarray) -> np.ndarray:
    """Class index ``0..K-1`` per row for single-label classification (multilabel: as is)."""
    y = np.asarray(y)
    if task.label_format == "onehot":
        return np.argmax(y.reshape(len(y), -1), axis=1)
    if task.label_format == "indicator":
        return (y.reshape(len(y), -1) > 0.5).astype(int)
    flat = y.reshape(len(y), -1)[:, 0]
    return np.searchsorted(np.asarray(task.classes), flat).clip(0, max(task.n_classes - 1, 0))
