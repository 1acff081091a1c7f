"""Widen hidden layers narrower than what the output needs (a Dense(1) before 10 classes)."""

from __future__ import annotations

from autofix.model.surgery import bottlenecks, widen
from autofix.strategies.base import Strategy, register


@register
class WidenBottleneck(Strategy):
    name = "widen_bottleneck"
    summary = ("rebuild hidden layers narrower than the output needs (Dense units, Conv filters, "
               "LSTM/GRU units, Embedding width) at a sane width")
    answers = frozenset({"narrow_bottleneck"})
    order = 17
    example_scenario = "narrow_bottleneck"

    def apply(self, draft, problem) -> None:
        draft.params["widened"] = widen(draft, bottlenecks(draft.core))
