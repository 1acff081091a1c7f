"""Re-initialize kernels with He (ReLU-family layers) or Glorot (others) and zero biases."""

from __future__ import annotations

from autofix.model.anatomy import activation_name
from autofix.model.surgery import (
    RELU_LIKE,
    applied_activations,
    clone_core,
    rebuild_layer,
)
from autofix.strategies.base import Strategy, register


def fresh_initializers(layer, activation: str | None = None) -> dict:
    """Initializer changes for ``layer`` (only the settings its config has); ``activation``
    is the one applied to its output, which may be a separate layer after it."""
    config = layer.get_config()
    changes = {}
    if "kernel_initializer" in config:
        relu = activation in RELU_LIKE
        changes["kernel_initializer"] = "he_normal" if relu else "glorot_uniform"
    if "bias_initializer" in config:
        changes["bias_initializer"] = "zeros"
    return changes


@register
class ReinitializeWeights(Strategy):
    name = "reinitialize_weights"
    summary = "fresh Glorot/He kernel initialization and zero biases (breaks symmetric or dead starts)"
    answers = frozenset({"symmetric_init", "dead_units"})
    order = 10
    example_scenario = "dead_relu"

    def apply(self, draft, problem) -> None:
        activations = applied_activations(draft.core)

        def clone_function(layer):
            act = activations.get(layer.name) or activation_name(layer)
            return rebuild_layer(layer, **fresh_initializers(layer, act))

        # nested models' layers too: a zero-initialized block inside a model is as stuck
        clone_core(draft, clone_function, recursive=True)
