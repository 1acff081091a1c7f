"""A repair problem: the user's model, its training setup, and the split data."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import train_test_split

from autofix.inputs.task import Task, class_ids
from autofix.training.training_setup import TrainingSetup


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
    #: the diagnosis' findings so far (strategies read them); only the diagnosis writes it
    findings: list = field(default_factory=list)
    #: findings made while reading the data (rows with NaN dropped): reported first
    early_findings: list = field(default_factory=list)
    #: the repair's listener (``notify(event, payload)``), when someone listens
    notify: object = None
    #: the user's setup retrained by the diagnosis (:class:`autofix.diagnosis.diagnose.Rerun`)
    rerun: object = None
    #: measurements strategies reuse between candidates (a range test's learning rate, the
    #: tuner's choice, a probe's verdict), keyed by what they depend on
    cache: dict = field(default_factory=dict)
    deadline: float | None = None
    #: how candidates are judged: ``split`` (the held-out rows ``x_val``), ``folds``
    #: (repeated k-fold over every row: too few held-out rows to prove anything), or
    #: ``none`` (so few rows that nothing can be held out: judged on the rows it trains on)
    holdout: str = "split"
    stop_split: tuple | None = field(default=None, repr=False)  # cache of early_stopping_split
    #: how every candidate trains, on top of the user's setup (the search sets it: epochs
    #: up to a cap, chosen by early stopping); the diagnosis reruns the user's setup as is
    policy: dict = field(default_factory=dict)
    #: a model of several inputs is repaired through one packed input (``model`` is that
    #: view, ``x`` the packed arrays): where each input's columns lie (autofix.model.packing)
    layout: object = None
    #: the model as the user gave it (handed back when nothing is repaired); None: ``model``
    user_model: object = None
    #: a dataset larger than the sample in ``x``/``y``: the chosen repair then trains on all
    #: of it (autofix.search.streaming); ``stream_held_out``: the validation rows are the sample's
    #: rows its hash holds out, left out of the stream too
    stream: object = None
    stream_held_out: bool = False

    @property
    def candidate_setup(self) -> TrainingSetup:
        """The setup a fresh candidate starts from: the user's, under the search's policy."""
        return self.setup.replace(**self.policy) if self.policy else self.setup

    @property
    def given_model(self):
        """The model as the user gave it (``model`` unless that is a packed view of it)."""
        return self.model if self.user_model is None else self.user_model

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x.shape[1:])

    @property
    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Every row the user gave (training and validation), for fold-based judging."""
        if self.holdout == "none":
            return self.x, self.y
        return np.concatenate([self.x, self.x_val]), np.concatenate([self.y, self.y_val])

    def early_stopping_split(self):
        """(x_fit, y_fit, x_stop, y_stop): a seeded share of the training rows, held out to
        decide when a candidate stops training (never the rows it is judged on), or None
        when there are too few training rows to spare some."""
        if len(self.x) < EARLY_STOPPING_MIN_ROWS:
            return None
        if self.stop_split is None:
            x_fit, x_stop, y_fit, y_stop = split(self.x, self.y, self.task, seed=self.seed + 7,
                                                 fraction=EARLY_STOPPING_SHARE)
            self.stop_split = (x_fit, y_fit, x_stop, y_stop)
        return self.stop_split

    def with_rows(self, x, y, x_val, y_val) -> "Problem":
        """The same problem on other rows (a fold); findings and the cache are shared."""
        return dataclasses.replace(self, x=x, y=y, x_val=x_val, y_val=y_val, holdout="split",
                                   stop_split=None)


#: below this many training rows, none are spared to decide when training stops
EARLY_STOPPING_MIN_ROWS = 150
EARLY_STOPPING_SHARE = 0.15
#: below this many rows in all nothing can be held out; below FOLDS_BELOW validation rows a
#: single hold-out cannot prove a repair, so candidates are judged by repeated k-fold
NO_HOLDOUT_BELOW = 30
FOLDS_BELOW = 100


def holdout_mode(n_rows: int, validation_given: bool) -> str:
    """How candidates on ``n_rows`` rows are judged (see :attr:`Problem.holdout`)."""
    if validation_given:
        return "split"
    if n_rows < NO_HOLDOUT_BELOW:
        return "none"
    return "folds" if round(0.2 * n_rows) < FOLDS_BELOW else "split"


def split(x: np.ndarray, y: np.ndarray, task: Task, *, seed: int = 0, fraction: float = 0.2):
    """A seeded hold-out, stratified for classification when every class has 2+ rows."""
    stratify = None
    if task.kind in ("binary", "multiclass"):
        ids = class_ids(task, y)
        counts = np.bincount(ids)
        if counts[counts > 0].min() >= 2:
            stratify = ids
    return train_test_split(x, y, test_size=fraction, random_state=seed, stratify=stratify)
