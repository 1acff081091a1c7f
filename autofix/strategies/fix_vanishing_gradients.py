"""Swap saturating hidden activations (sigmoid, tanh) for ReLU with He initialization."""

from __future__ import annotations

from autofix.model.surgery import clone_changing, saturating_sites
from autofix.strategies.base import Strategy, register


@register
class FixVanishingGradients(Strategy):
    name = "fix_vanishing_gradients"
    summary = "replace saturating hidden activations (sigmoid/tanh) with relu and He initialization"
    answers = frozenset({"vanishing_gradients"})
    order = 15
    example_scenario = "deep_sigmoid"

    def applies(self, problem, findings) -> bool:
        if not super().applies(problem, findings):
            return False
        try:
            return bool(saturating_sites(problem.model))
        except Exception:  # noqa: BLE001 - a graph surgery cannot read: nothing to change
            return False

    def apply(self, draft, problem) -> None:
        # the layer that applies the activation changes: a Dense(sigmoid) becomes a
        # Dense(relu), a separate Activation("sigmoid") an Activation("relu"); the kernel
        # that feeds it gets He initialization (clone_changing drops what a config lacks)
        wanted: dict[str, dict] = {}
        sites = saturating_sites(draft.core)
        for layer, kernel in sites:
            wanted.setdefault(layer.name, {})["activation"] = "relu"
            if kernel is not None:
                wanted.setdefault(kernel.name, {})["kernel_initializer"] = "he_normal"
        if wanted:
            clone_changing(draft, wanted)
        draft.params["relu_layers"] = len(sites)
