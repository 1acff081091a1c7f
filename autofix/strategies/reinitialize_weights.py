"""Re-initialize kernels with He (ReLU-family layers) or Glorot (others) and zero biases."""

from __future__ import annotations

from ..modelio import activation_name
from ..surgery import RELU_LIKE, rebuild_layer
from .base import Strategy, register


def fresh_initializers(layer) -> dict:
    config = layer.get_config()
    changes = {}
    if "kernel_initializer" in config:
        relu = activation_name(layer) in RELU_LIKE
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
        draft.clone_core(lambda layer: rebuild_layer(layer, **fresh_initializers(layer)))
