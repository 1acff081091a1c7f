"""Insert a ``keras.layers.Normalization`` adapted on the training rows in front of the model."""

from __future__ import annotations

from .._tf import keras
from .base import Strategy, register


@register
class NormalizeInputs(Strategy):
    name = "normalize_inputs"
    summary = "insert a Normalization layer adapted on x in front of the model (raw x still goes in)"
    answers = frozenset({"unscaled_inputs"})
    order = 80
    example_scenario = "unnormalized_inputs"

    def apply(self, draft, problem) -> None:
        norm = keras().layers.Normalization(axis=-1, name="autofix_normalization")
        norm.adapt(problem.x)
        draft.preprocess.append(norm)
