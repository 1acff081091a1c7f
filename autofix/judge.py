"""Judge predictions against the constant baseline: what the report calls degenerate
predictions, and every model's metric (the given model's, the rerun's, each candidate's)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import balanced_accuracy_score, r2_score

from autofix.inputs.task import Task, class_ids, class_ids_of_classes


@dataclass(frozen=True)
class Judgement:
    metric: float
    constant: float
    margin: float
    degenerate: bool
    near_constant: bool
    reason: str

    def to_dict(self) -> dict:
        return {"metric": self.metric, "constant": self.constant, "margin": self.margin,
                "degenerate": self.degenerate, "near_constant": self.near_constant,
                "reason": self.reason}


def clear_margin(n_rows: int) -> float:
    """How far above the constant baseline a metric must be to count as learning.

    Three standard errors of a chance-level score on ``n_rows`` rows, at least 0.05:
    with many candidates tried, a smaller margin lets noise labels pass as a repair.
    """
    return max(0.05, 1.5 / math.sqrt(max(n_rows, 1)))


def predicted_labels(task: Task, pred: np.ndarray) -> np.ndarray:
    """The predicted class id per row (or 0/1 indicator matrix), in the ids of
    :func:`~autofix.inputs.task.class_ids`: the argmax unit of a multi-unit head is the class id
    (unit k is class id k); a one-unit head on two classes picks the larger class above
    0.5, and on more classes the nearest label."""
    p = pred.reshape(len(pred), -1)
    if task.kind == "multilabel":
        return (p > 0.5).astype(int)
    if p.shape[1] == 1:
        ids = class_ids_of_classes(task)
        if task.n_classes <= 2:
            lo, hi = (int(ids[0]), int(ids[-1])) if len(ids) == 2 else (0, 1)
            return np.where(p[:, 0] > 0.5, hi, lo)
        # a one-unit head on class ids: the nearest label
        labels = np.asarray(task.classes, dtype=float)
        return ids[np.abs(p[:, :1] - labels[None, :]).argmin(axis=1)]
    return p.argmax(axis=1)


def _score(task: Task, truth: np.ndarray, guess: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task.kind == "regression":
            return float(r2_score(truth, guess))
        if task.kind == "multilabel":
            return float(np.mean([balanced_accuracy_score(truth[:, j], guess[:, j])
                                  for j in range(truth.shape[1])]))
        return float(balanced_accuracy_score(truth, guess))


def constant_baseline(task: Task, y_train: np.ndarray, y_val: np.ndarray) -> float:
    """The metric of always predicting the training mean (regression) or majority class."""
    if task.kind == "regression":
        yt = y_train.reshape(len(y_train), -1)
        yv = y_val.reshape(len(y_val), -1)
        return _score(task, yv, np.repeat(yt.mean(axis=0, keepdims=True), len(yv), axis=0))
    truth = class_ids(task, y_val)
    train_ids = class_ids(task, y_train)
    if task.kind == "multilabel":
        majority = (train_ids.mean(axis=0) > 0.5).astype(int)
        return _score(task, truth, np.repeat(majority[None, :], len(truth), axis=0))
    majority = np.bincount(train_ids).argmax()
    return _score(task, truth, np.full(len(truth), majority))


def judge(task: Task, y_train: np.ndarray, y_val: np.ndarray, pred: np.ndarray) -> Judgement:
    """Compare validation predictions with the constant baseline."""
    constant = constant_baseline(task, y_train, y_val)
    margin = clear_margin(len(y_val))
    pred = np.asarray(pred, dtype="float64")
    if pred.size == 0 or len(pred) != len(y_val):
        return Judgement(float("nan"), constant, margin, True, True, "no predictions")
    if not np.all(np.isfinite(pred)):
        return Judgement(float("nan"), constant, margin, True, True, "predictions contain NaN or inf")
    if task.kind == "regression":
        yv = y_val.reshape(len(y_val), -1)
        p = pred.reshape(len(pred), -1)
        if p.shape[1] != yv.shape[1]:
            return Judgement(float("nan"), constant, margin, True, False,
                             f"predictions have {p.shape[1]} columns, y has {yv.shape[1]}")
        spread = p.std(axis=0)
        scale = yv.std(axis=0) + 1e-12
        near_constant = bool(np.all(spread <= 1e-3 * scale))
        metric = _score(task, yv, p)
    else:
        guess = predicted_labels(task, pred)
        truth = class_ids(task, y_val)
        if task.kind == "multilabel" and guess.shape != truth.shape:
            return Judgement(float("nan"), constant, margin, True, False,
                             f"predictions have shape {guess.shape}, labels {truth.shape}")
        if task.kind == "multilabel":
            near_constant = bool(np.all(guess.min(axis=0) == guess.max(axis=0)))
        else:
            near_constant = len(np.unique(guess)) == 1
        metric = _score(task, truth, guess)
    if near_constant:
        reason = "predictions are (near-)constant"
    elif not metric > constant + margin:
        reason = (f"{task.metric} {metric:.3f} is not clearly above the constant baseline "
                  f"{constant:.3f} (margin {margin:.3f})")
    else:
        reason = f"{task.metric} {metric:.3f} beats the constant baseline {constant:.3f}"
    degenerate = near_constant or not metric > constant + margin
    return Judgement(metric, constant, margin, degenerate, near_constant, reason)
