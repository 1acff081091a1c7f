"""A repair problem: the user's model, its training setup, and the split data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import train_test_split

from .setup import TrainingSetup
from .task import Task, class_ids


@dataclass
class Problem:
    """Everything a diagnosis or a strategy may look at. The model is never modified."""

    model: object
    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    task: Task
    setup: TrainingSetup
    seed: int = 0
    findings: list = field(default_factory=list)
    notes: dict = field(default_factory=dict)
    deadline: float | None = None

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x.shape[1:])


def split(x: np.ndarray, y: np.ndarray, task: Task, *, seed: int = 0, fraction: float = 0.2):
    """A seeded hold-out, stratified for classification when every class has 2+ rows."""
    stratify = None
    if task.kind in ("binary", "multiclass"):
        ids = class_ids(task, y)
        counts = np.bincount(ids)
        if counts[counts > 0].min() >= 2:
            stratify = ids
    return train_test_split(x, y, test_size=fraction, random_state=seed, stratify=stratify)
