"""Lower dropout rates so high that too little of each layer's output gets through."""

from __future__ import annotations

from autofix.model.anatomy import HEAVY_DROPOUT, dropout_rates, dropout_settings
from autofix.model.surgery import clone_changing
from autofix.strategies.base import Strategy, register

#: what a heavy rate becomes (a usual dropout rate)
LOWER_RATE = 0.2


@register
class ReduceDropout(Strategy):
    name = "reduce_dropout"
    summary = f"lower every dropout rate of {HEAVY_DROPOUT:g} or more to {LOWER_RATE:g}"
    answers = frozenset({"heavy_dropout"})
    order = 16
    example_scenario = "heavy_dropout"

    def apply(self, draft, problem) -> None:
        heavy = {name for name, rate in dropout_rates(draft.core).items() if rate >= HEAVY_DROPOUT}
        wanted = {layer.name: lowered_rates(layer) for layer in draft.core.layers
                  if layer.name in heavy}
        if wanted:
            clone_changing(draft, wanted)
        draft.params["lowered_dropout"] = sorted(wanted)


def lowered_rates(layer) -> dict:
    """The config changes that bring ``layer``'s heavy dropout rates down to LOWER_RATE."""
    return {key: LOWER_RATE for key, rate in dropout_settings(layer).items() if rate >= HEAVY_DROPOUT}
