"""What one training run did: the record every training path fills in."""

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
    #: how it trained: "compiled" (one program per run), "lean" (Keras fit on a cached
    #: tf.data pipeline) or "keras" (a plain Keras fit on arrays)
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
