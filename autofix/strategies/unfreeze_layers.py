"""Make every frozen (``trainable=False``) layer trainable again."""

from __future__ import annotations

from autofix.model.surgery import unfreeze
from autofix.strategies.base import Strategy, register


@register
class UnfreezeLayers(Strategy):
    name = "unfreeze_layers"
    summary = "make every layer trainable (frozen layers keep their random start and never learn)"
    answers = frozenset({"frozen_layers"})
    order = 5
    example_scenario = "frozen_layers"

    def apply(self, draft, problem) -> None:
        draft.params["unfrozen_layers"] = unfreeze(draft)
