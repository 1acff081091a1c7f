"""Swap saturating hidden activations (sigmoid, tanh) for ReLU with He initialization."""

from __future__ import annotations

from ..surgery import SATURATING, clone_changing, hidden_layers_with
from .base import Strategy, register


@register
class FixVanishingGradients(Strategy):
    name = "fix_vanishing_gradients"
    summary = "replace saturating hidden activations (sigmoid/tanh) with relu and He initialization"
    answers = frozenset({"vanishing_gradients"})
    order = 15
    example_scenario = "deep_sigmoid"

    def applies(self, problem, findings) -> bool:
        return super().applies(problem, findings) and bool(
            hidden_layers_with(problem.model, SATURATING))

    def apply(self, draft, problem) -> None:
        layers = hidden_layers_with(draft.core, SATURATING)
        wanted = {layer.name: {"activation": "relu", "kernel_initializer": "he_normal"}
                  for layer in layers}
        if wanted:
            clone_changing(draft, wanted)
        draft.params["relu_layers"] = len(wanted)
