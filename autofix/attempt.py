"""Try one candidate: build it fresh, train it on the training rows, judge it on val."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .candidate import Candidate, build
from .errors import AttemptFailed
from .judge import Judgement, judge
from .problem import Problem
from .setup import TrainingSetup
from .task import class_ids
from .training import TrainLog, encode_targets, fit, predict


@dataclass
class Attempt:
    candidate: Candidate
    params: dict = field(default_factory=dict)
    verdict: Judgement | None = None
    fit_verdict: Judgement | None = None  # on (a sample of) its own training rows
    log: TrainLog | None = None
    seconds: float = 0.0
    reason: str = ""
    model: object = None
    broken_strategy: str | None = None  # the strategy that raised, if one did
    val_pred: np.ndarray | None = None  # validation predictions of the trained candidate
    setup: TrainingSetup | None = None  # the training setup it was trained (and compiled) with

    @property
    def failed(self) -> bool:
        return self.verdict is None

    @property
    def degenerate(self) -> bool:
        return self.verdict is None or self.verdict.degenerate

    @property
    def metric(self) -> float | None:
        if self.verdict is None or not math.isfinite(self.verdict.metric):
            return None
        return self.verdict.metric

    def __repr__(self) -> str:
        metric = "-" if self.metric is None else f"{self.metric:.3f}"
        return (f"<Attempt {self.candidate.label()}: {self.outcome}, metric {metric}, "
                f"{self.seconds:.1f}s>")

    @property
    def outcome(self) -> str:
        if self.failed:
            return "failed"
        return "degenerate" if self.degenerate else "healthy"

    def to_dict(self) -> dict:
        from .findings import _plain

        return _plain({
            "strategies": list(self.candidate.strategies),
            "params": self.params,
            "metric": self.metric,
            "degenerate": self.degenerate,
            "epochs": self.log.epochs_run if self.log else 0,
            "seconds": round(self.seconds, 3),
            "outcome": self.outcome,
            "reason": self.reason,
            "losses": [v if math.isfinite(v) else None for v in (self.log.losses if self.log else [])],
            **({"compiled": self.setup.compile_summary()} if self.setup is not None else {}),
        })


def _epoch_events(problem: Problem) -> list:
    """A callback that reports ("epoch", (epoch, planned, loss)) to the repair's listener."""
    notify = problem.notes.get("notify")
    if notify is None:
        return []
    from ._tf import keras

    class EpochEvents(keras().callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            notify("epoch", (epoch + 1, self.params.get("epochs"), (logs or {}).get("loss")))

    return [EpochEvents()]


def sample_weights(draft, problem: Problem) -> np.ndarray | None:
    weights = draft.setup.class_weight
    if not weights:
        return None
    ids = class_ids(problem.task, problem.y)
    return np.asarray([weights.get(int(i), 1.0) for i in ids], dtype="float32")


def run_attempt(candidate: Candidate, problem: Problem, registry, *,
                deadline: float | None = None) -> Attempt:
    """Build, train and judge ``candidate``; a crash or NaN is a failed attempt, never raised."""
    started = time.monotonic()
    try:
        draft = build(candidate, problem, registry)
    except KeyboardInterrupt:
        raise
    except Exception as err:  # noqa: BLE001 - a strategy that raises is a failed attempt
        attempt = Attempt(candidate, reason=f"{type(err).__name__}: {' '.join(str(err).split())[:300]}")
        attempt.broken_strategy = getattr(err, "name", None)
        attempt.seconds = time.monotonic() - started
        return attempt
    return train_and_judge(candidate, draft, problem, deadline=deadline, started=started)


def train_and_judge(candidate: Candidate, draft, problem: Problem, *, model=None,
                    deadline: float | None = None, started: float | None = None) -> Attempt:
    """Train a built draft (``model``: its training model, if already assembled) and judge it."""
    started = time.monotonic() if started is None else started
    attempt = Attempt(candidate)
    try:
        model = model or draft.assemble(problem.input_shape, for_training=True)
        # labels a strategy recoded (scaled class ids) are trained and judged as recoded
        task, labels = draft.task_for(problem.task), draft.labels
        targets = encode_targets(task, draft.setup, draft.training_targets(problem.y),
                                 draft.output_units)
        log = fit(model, draft.setup, problem.x, targets, seed=problem.seed,
                  sample_weight=sample_weights(draft, problem), deadline=deadline,
                  extra_callbacks=[*draft.callbacks, *_epoch_events(problem)])
        attempt.log = log
        attempt.params = {**draft.params, "learning_rate": draft.setup.learning_rate,
                          "epochs": draft.setup.epochs, "loss": draft.setup.loss}
        if log.stopped in ("error", "nonfinite"):
            raise AttemptFailed(log.detail)
        model = draft.assemble(problem.input_shape)
        # the model handed to the user is compiled with the repair's own setup, so that
        # their next model.fit works as it is
        model.compile(optimizer=draft.setup.make_optimizer(), loss=draft.setup.make_loss())
        attempt.setup = draft.setup
        attempt.val_pred = predict(model, problem.x_val)
        attempt.verdict = judge(task, labels(problem.y), labels(problem.y_val), attempt.val_pred)
        rows = slice(0, 2048)
        attempt.fit_verdict = judge(task, labels(problem.y), labels(problem.y[rows]),
                                    predict(model, problem.x[rows]))
        attempt.reason = attempt.verdict.reason
        if log.stopped in ("stuck", "time"):
            attempt.reason = f"{log.detail}; {attempt.reason}"
        attempt.model = model
    except KeyboardInterrupt:
        raise
    except Exception as err:  # noqa: BLE001 - a failed trial, as keras-tuner records it
        attempt.verdict = None
        text = " ".join(str(err).split())[:300]
        attempt.reason = text if isinstance(err, AttemptFailed) else f"{type(err).__name__}: {text}"
    attempt.seconds = time.monotonic() - started
    return attempt
