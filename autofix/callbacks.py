"""An online monitor for your own ``model.fit``: warns the moment training degenerates.

    from autofix.callbacks import DegenerationMonitor

    monitor = DegenerationMonitor(x_train[:256], stop_training=True)
    model.fit(x_train, y_train, epochs=50, callbacks=[monitor])
    monitor.findings      # the same Finding objects (codes, messages) as `autofix diagnose`

At the end of an epoch it checks, on a small fixed sample, for NaN loss, constant
predictions, dead ReLU layers and a loss that never moves. It spaces its checks out so
that they cost at most ``max_overhead`` of the training time.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from autofix._backend import keras
from autofix.diagnosis.findings import Finding
from autofix.diagnosis.model_checks import dead_units
from autofix.training.train_log import constant, flat, spread

HINT = "run `autofix repair` on this model"


def head_rows(x, n: int):
    """The first ``n`` rows of ``x``: one array, or a dict/list of them (several inputs)."""
    if isinstance(x, dict):
        return {key: np.asarray(value)[:n] for key, value in x.items()}
    if isinstance(x, (list, tuple)) and x and all(hasattr(value, "shape") for value in x):
        return [np.asarray(value)[:n] for value in x]
    return np.asarray(x)[:n]


class DegenerationMonitor(keras.callbacks.Callback):
    """Watch a training run for the collapses autofix repairs.

    Args:
        x_sample: a few rows of training inputs (128-512 is plenty).
        stop_training: stop ``fit`` at the first error finding.
        patience: epochs a symptom must persist (constant predictions, frozen loss).
        max_overhead: the share of training time the checks may cost (default 2 %).
        verbose: emit a ``warnings.warn`` per new finding.
    """

    def __init__(self, x_sample, *, stop_training: bool = False, patience: int = 3,
                 max_overhead: float = 0.02, verbose: bool = True):
        super().__init__()
        self.x_sample = head_rows(x_sample, 512)
        self.stop = stop_training
        self.patience = max(1, int(patience))
        self.max_overhead = max_overhead
        self.verbose = verbose
        self.findings: list[Finding] = []
        self._reset()

    def _reset(self):
        self._constant_epochs = 0
        self._first_loss = None
        self._losses = []
        self._check_seconds = 0.0
        self._started = None
        self._checks = 0

    def on_train_begin(self, logs=None):
        self._reset()
        self.findings = []
        self._started = time.monotonic()

    # -- findings --------------------------------------------------------------------
    def _report(self, finding: Finding) -> None:
        if any(f.code == finding.code for f in self.findings):
            return
        self.findings.append(finding)
        if self.verbose:
            warnings.warn(f"autofix: {finding.code}: {finding.message}", RuntimeWarning, stacklevel=2)
        if self.stop and finding.severity == "error":
            self.model.stop_training = True

    def _budget_allows(self) -> bool:
        elapsed = time.monotonic() - self._started
        return self._checks < 2 or self._check_seconds <= self.max_overhead * elapsed

    def on_epoch_end(self, epoch, logs=None):
        loss = float((logs or {}).get("loss", float("nan")))
        if not math.isfinite(loss):
            self._report(Finding(
                "nonfinite_loss", "error",
                f"the loss became {loss} at epoch {epoch + 1}; every update from here is NaN: "
                f"lower the learning rate, clip gradients or scale the inputs; {HINT}",
                {"epoch": epoch + 1}))
            return
        self._losses.append(loss)
        if self._first_loss is None:
            self._first_loss = loss
        if not self._budget_allows():
            return
        started = time.monotonic()
        self._checks += 1
        outputs = keras.tree.flatten(self.model(self.x_sample, training=False))
        preds = [np.asarray(out, dtype="float64") for out in outputs]
        stuck = [p for p in preds if constant(p)]  # one stuck head is a degenerate model
        if not all(np.all(np.isfinite(p)) for p in preds):
            self._report(Finding("nonfinite_loss", "error",
                                 f"predictions became NaN or inf by epoch {epoch + 1}; {HINT}",
                                 {"epoch": epoch + 1}))
        elif stuck:
            self._constant_epochs += 1
            if self._constant_epochs >= self.patience:
                least = min(spread(p) for p in stuck)
                self._report(Finding(
                    "degenerate_predictions", "error",
                    f"predictions are (near-)constant on the monitored rows for "
                    f"{self._constant_epochs} epochs (spread {least:.2g}); {HINT}",
                    {"epoch": epoch + 1, "spread": least}))
        else:
            self._constant_epochs = 0
        moved = abs(self._first_loss - loss) / max(abs(self._first_loss), 1e-12)
        if len(self._losses) > self.patience and flat(self._first_loss, loss):
            self._report(Finding(
                "learning_rate_too_low", "warning",
                f"the loss has not moved ({moved:.2%}) in {len(self._losses)} epochs: the learning "
                f"rate is too low or the model cannot learn; {HINT}",
                {"epoch": epoch + 1, "relative_loss_change": moved}))
        if self._checks % 5 == 1 and isinstance(self.x_sample, np.ndarray) \
                and len(self.model.outputs) == 1:  # (the probe reads one input, one output)

            for finding in dead_units(self.model, self.x_sample):
                if finding.severity == "error":
                    finding.message += f"; {HINT}"
                    self._report(finding)
        self._check_seconds += time.monotonic() - started
