"""Move the learning rate back to a sane value for its optimizer."""

from __future__ import annotations

import inspect

from .._tf import keras
from ..findings import codes
from .base import Strategy, register


def default_learning_rate(optimizer: str) -> float:
    """The optimizer class's own default learning rate (Adam 0.001, SGD 0.01...)."""
    cls = getattr(keras().optimizers, optimizer, None)
    if cls is None:
        return 1e-3
    param = inspect.signature(cls.__init__).parameters.get("learning_rate")
    value = getattr(param, "default", 1e-3)
    return float(value) if isinstance(value, (int, float)) else 1e-3


@register
class AdjustLearningRate(Strategy):
    name = "adjust_learning_rate"
    summary = "bring the learning rate back to its optimizer's sane range (10x down if it diverged)"
    answers = frozenset({"learning_rate_too_high", "learning_rate_too_low"})
    order = 94
    example_scenario = "learning_rate_too_low"
    tuning = True

    def apply(self, draft, problem) -> None:
        lr = draft.setup.learning_rate
        default = default_learning_rate(draft.setup.optimizer)
        found = codes(problem.findings)
        if "learning_rate_too_low" in found and "learning_rate_too_high" not in found:
            new = max(default, lr * 10)
        else:
            new = min(default, lr / 10)
        draft.setup = draft.setup.replace(learning_rate=float(f"{new:.3g}"))
        draft.params["learning_rate"] = draft.setup.learning_rate
