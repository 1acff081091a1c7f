"""What one training run did (the record every training path fills in), and the symptoms
checked while it runs: constant predictions, a flat loss, a stuck candidate."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: per-step relative weight updates that settle a learning-rate diagnosis on their own
#: (a working setup sits around 1e-3): a diagnostic rerun may stop there
CONCLUSIVE_HIGH = 0.3
CONCLUSIVE_LOW = 1e-6


@dataclass
class TrainLog:
    """What one training run did: per-epoch loss, why it stopped, how long it took."""

    losses: list = field(default_factory=list)
    epochs_planned: int = 0
    stopped: str = "completed"  # completed | levelled | nonfinite | stuck | time | conclusive | error
    best_epoch: int | None = None  # under early stopping: the epoch whose weights were kept
    epoch_seconds: list = field(default_factory=list)  # wall time of each epoch

    detail: str = ""
    seconds: float = 0.0
    update_ratio: float | None = None  # median per-step relative kernel update, 1st epoch
    initial_loss: float | None = None  # loss on a probe batch before the first step

    passes_per_epoch: int = 1  # passes over the data in one Keras epoch (see fit)
    #: how it trained: "compiled" (one program per run), "compiled-xla" (the same, its
    #: steps compiled by XLA), "stacked" (copies of one architecture in one program), "lean"
    #: (Keras fit on a cached tf.data pipeline) or "keras" (a plain Keras fit on arrays)
    engine: str = "keras"

    @property
    def seconds_per_epoch(self) -> float | None:
        """A typical pass over the training rows' cost (the median over Keras epochs, each
        ``passes_per_epoch`` passes; the first, which also pays for tracing, is left out: a
        run of one epoch tells nothing)."""
        times = self.epoch_seconds[1:]
        return float(np.median(times)) / self.passes_per_epoch if times else None

    @property
    def epochs_run(self) -> int:
        """Passes over the training rows completed."""
        return len(self.losses) * self.passes_per_epoch

    @property
    def finite(self) -> bool:
        return self.stopped != "nonfinite" and all(math.isfinite(v) for v in self.losses)

    @property
    def conclusive(self) -> bool:
        """Whether the weight updates so far settle the learning-rate question on their own
        (after the first epoch: far too large; after the second: far too small)."""
        ratio, done = self.update_ratio, len(self.losses)
        return ratio is not None and ((done == 1 and ratio > CONCLUSIVE_HIGH)
                                      or (done == 2 and ratio < CONCLUSIVE_LOW))

    def stop(self, reason: str, epoch: int, loss: float | None = None) -> None:
        """Record that the run ended at ``epoch`` (counted from 1) for ``reason``, in the words
        every training path uses."""
        details = {
            "nonfinite": lambda: f"loss became {loss} at epoch {epoch}",
            "time": lambda: f"ran out of its time share at epoch {epoch}",
            "conclusive": lambda: (f"stopped at epoch {epoch}: each step moves the weights by "
                                   f"{self.update_ratio:.1e} of their size, far outside the "
                                   "range that learns"),
            "stuck": lambda: f"predictions constant and loss flat at {loss:.4g} by epoch {epoch}",
            "levelled": lambda: (f"stopped at epoch {epoch}: the held-out loss had not improved "
                                 f"since epoch {self.best_epoch}"),
        }
        self.stopped, self.detail = reason, details[reason]()


def update_ratio(before: list, after: list, steps: int) -> float | None:
    """Median relative change of the kernels per step, from their values ``before`` and
    ``after`` ``steps`` steps."""
    ratios = [np.linalg.norm(b - a) / np.linalg.norm(a) / max(steps, 1)
              for a, b in zip(before, after) if np.linalg.norm(a) > 0]
    return float(np.median(ratios)) if ratios else None


#: predictions spread less than this (relative to their size, at least 1) are constant
CONSTANT_SPREAD = 1e-6
#: a loss that moved less than this share of itself has not moved
FLAT_LOSS = 1e-3


def spread(pred: np.ndarray) -> float:
    """How much predictions vary over the rows: the largest standard deviation of a column."""
    pred = np.asarray(pred, dtype="float64")
    return float(np.max(pred.std(axis=0))) if pred.size else 0.0


def constant(pred: np.ndarray) -> bool:
    """Whether predictions are (near-)constant over the rows: they vary by less than
    :data:`CONSTANT_SPREAD` of their size (1 for predictions smaller than 1). The one test
    during training, behind a candidate stuck (:class:`StuckCheck`) and a user's fit
    collapsing (:class:`autofix.callbacks.DegenerationMonitor`). A trained model is judged
    otherwise: by :func:`autofix.judge.judge`, its spread against the targets' own."""
    pred = np.asarray(pred, dtype="float64")
    size = float(np.abs(pred).mean()) if pred.size else 0.0
    return spread(pred) <= CONSTANT_SPREAD * max(size, 1.0)


def flat(before: float | None, after: float) -> bool:
    """Whether a loss went from ``before`` to ``after`` without moving (less than
    :data:`FLAT_LOSS` of itself)."""
    return before is not None and abs(before - after) <= FLAT_LOSS * max(abs(before), 1e-12)


class StuckCheck:
    """A candidate whose predictions are constant and whose loss is flat at two checks in a
    row (every fifth of the run) is stuck and may be stopped."""

    def __init__(self, planned: int, enabled: bool):
        self.every = max(2, planned // 5)
        self.next = self.every if enabled and planned >= 6 else None
        self.planned, self.last_loss, self.count = planned, None, 0

    def due(self, done: int) -> bool:
        """Whether a check falls due after ``done`` epochs."""
        return self.next is not None and done >= self.next and done < self.planned

    def stuck(self, pred: np.ndarray, loss: float, done: int) -> bool:
        """The check itself, on predictions of a probe batch and the latest epoch's loss."""
        self.next = done + self.every
        stuck = constant(pred) and flat(self.last_loss, loss)
        self.last_loss = loss
        self.count = self.count + 1 if stuck else 0
        return self.count >= 2
