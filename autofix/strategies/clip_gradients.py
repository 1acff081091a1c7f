"""Clip gradient norms so one bad batch cannot blow the weights up to NaN."""

from __future__ import annotations

from autofix.strategies.base import Strategy, register


@register
class ClipGradients(Strategy):
    name = "clip_gradients"
    summary = "clip each gradient's norm to 1.0 (stops NaN and exploding losses)"
    answers = frozenset({"nonfinite_loss"})
    order = 92
    example_scenario = "sgd_unscaled"
    tuning = True

    def apply(self, draft, problem) -> None:
        draft.setup = draft.setup.replace(clipnorm=1.0)
        draft.params["clipnorm"] = 1.0
