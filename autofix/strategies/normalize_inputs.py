"""Insert a ``keras.layers.Normalization`` adapted on the training rows in front of the model."""

from __future__ import annotations

from .._tf import keras
from ..modelio import normalizes_its_input, reads_ids
from .base import Strategy, register

LAYER_NAME = "autofix_normalization"


@register
class NormalizeInputs(Strategy):
    name = "normalize_inputs"
    summary = "insert a Normalization layer adapted on x in front of the model (raw x still goes in)"
    answers = frozenset({"unscaled_inputs"})
    order = 80
    example_scenario = "unnormalized_inputs"

    def apply(self, draft, problem) -> None:
        if any(layer.name == LAYER_NAME for layer in draft.preprocess):
            return  # already normalized by a strategy before it in the candidate (rebuild)
        if reads_ids(draft.core):
            # ids (an Embedding's input) have no scale: normalizing them breaks the lookup
            draft.params["normalized"] = False
            return
        if normalizes_its_input(draft.core):
            # the model's own Normalization (kept adapted) already does it: a second one in
            # front would feed it standardized rows it was not adapted on
            draft.params["normalized"] = False
            return
        norm = keras().layers.Normalization(axis=-1, name=LAYER_NAME)
        norm.adapt(problem.x)
        draft.preprocess.append(norm)
