"""Choose a learning rate by measuring it: a one-pass learning-rate range test.

The rate rises exponentially from ``start`` to ``end`` over ``steps`` training steps (one
batch each); the run stops once the smoothed loss passes four times its best or turns NaN,
and the model's weights are left as they were. The pick follows fastai's ``valley`` rule
(the middle of the longest stretch over which the loss keeps falling), which is robust to
noisy curves; the rate at the loss minimum (divided by ten) is recorded beside it. This is the method of fastai's ``lr_find`` and Lightning's
``Tuner.lr_find``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from autofix._backend import keras
from autofix.training import compiled as compiled_training
from autofix.training.fit import SETTINGS
from autofix.training.training_setup import TrainingSetup

START, END, STEPS = 1e-5, 10.0, 300  # ~50 steps a decade: enough for SGD to show a trend
DIVERGED = 4.0  # the smoothed loss at this multiple of its best ends the sweep
SMOOTHING = 0.9


@dataclass
class RangeTest:
    """What the sweep measured and the rate it suggests (None: no usable curve)."""

    learning_rates: list = field(default_factory=list)
    losses: list = field(default_factory=list)  # smoothed, one per step
    suggestion: float | None = None
    min_loss_rate: float | None = None  # the rate at the lowest smoothed loss, divided by 10
    stopped: str = "completed"  # completed | diverged

    def to_dict(self) -> dict:
        return {"suggestion": self.suggestion, "min_loss_rate": self.min_loss_rate,
                "steps": len(self.losses), "stopped": self.stopped}


def valley(losses: list[float]) -> int | None:
    """fastai's ``valley``: the index about halfway into the longest run over which the
    loss decreases (a longest decreasing subsequence), or None if there is none."""
    n = len(losses)
    if n < 5:
        return None
    longest = [1] * n
    end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and longest[i] < longest[j] + 1:
                longest[i] = longest[j] + 1
        if longest[i] > longest[end]:
            end = i
    if longest[end] < 3:
        return None
    start = end - longest[end] + 1
    third = (end - start) / 3
    return min(n - 1, start + int(third) + int(third / 2))


def _batches(x, y, batch_size: int, steps: int, seed: int):
    rng = np.random.default_rng(seed)
    order = np.array([], dtype=int)
    for _ in range(steps):
        if len(order) < batch_size:
            order = np.concatenate([order, rng.permutation(len(x))])
        take, order = order[:batch_size], order[batch_size:]
        yield x[take], y[take]


def range_test(model, setup: TrainingSetup, x: np.ndarray, y_encoded: np.ndarray, *,
               seed: int = 0, start: float = START, end: float = END,
               steps: int = STEPS) -> RangeTest:
    """Sweep the learning rate of ``setup``'s optimizer over ``model`` (left unchanged)."""
    rates = start * (end / start) ** (np.arange(steps) / max(steps - 1, 1))
    raw = None
    if SETTINGS.compiled:
        try:
            program = compiled_training.program_for(model, setup, x, y_encoded)
            raw = compiled_training.range_test_losses(program, model, setup, x, y_encoded,
                                                      rates, seed=seed)
        except Exception:  # noqa: BLE001 - Keras' path below
            raw = None
    if raw is None:
        raw = _keras_losses(model, setup, x, y_encoded, rates, seed=seed)
    result = RangeTest()
    smooth, best = 0.0, math.inf
    for i, loss in enumerate(raw):
        if not math.isfinite(loss):
            result.stopped = "diverged"
            break
        smooth = SMOOTHING * smooth + (1 - SMOOTHING) * loss
        value = smooth / (1 - SMOOTHING ** (i + 1))
        result.learning_rates.append(float(rates[i]))
        result.losses.append(value)
        best = min(best, value)
        if i >= 10 and value > DIVERGED * best:
            result.stopped = "diverged"
            break
    _suggest(result)
    return result


def _keras_losses(model, setup: TrainingSetup, x, y_encoded, rates, *, seed: int) -> list:
    """The range test's per-step losses through Keras' ``train_on_batch`` (stops at the
    first NaN); ``model``'s weights are put back."""
    weights = model.get_weights()
    rate = rates[1] / rates[0] if len(rates) > 1 else 1.0
    schedule = keras.optimizers.schedules.ExponentialDecay(float(rates[0]), decay_steps=1, decay_rate=rate)
    optimizer = setup.make_optimizer()
    optimizer.learning_rate = schedule  # the same optimizer (momentum, clipping...), swept
    model.compile(optimizer=optimizer, loss=setup.make_loss())
    losses = []
    try:
        for xb, yb in _batches(x, y_encoded, max(1, setup.batch_size), len(rates), seed):
            losses.append(float(np.asarray(model.train_on_batch(xb, yb)).reshape(-1)[0]))
            if not math.isfinite(losses[-1]):
                break
    finally:
        model.set_weights(weights)
    return losses


def _suggest(result: RangeTest) -> None:
    losses, rates = result.losses, result.learning_rates
    if len(losses) < 10:
        return
    result.min_loss_rate = float(f"{rates[int(np.argmin(losses))] / 10:.3g}")
    index = valley(losses)
    if index is not None:
        result.suggestion = float(f"{rates[index]:.3g}")
