"""Insert a ``keras.layers.Normalization`` adapted on the training rows in front of the model.

A model of several inputs (repaired packed, see :mod:`autofix.model.packing`) keeps the inputs it
reads as ids or scales itself as they are: their columns get a mean of 0 and a variance of 1.
"""

from __future__ import annotations

import numpy as np

from autofix._backend import keras
from autofix.model.anatomy import normalizes_its_input, reads_ids
from autofix.strategies.base import Strategy, register

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
        layout = problem.layout  # several inputs, packed: ids and self-scaled inputs stay raw
        if layout is not None and not layout.scaled_columns.any():
            draft.params["normalized"] = False
            return
        norm = keras.layers.Normalization(axis=-1, name=LAYER_NAME)
        norm.adapt(problem.x)
        if layout is not None and not layout.scaled_columns.all():
            raw = ~layout.scaled_columns
            mean = np.where(raw, 0.0, np.asarray(norm.mean).reshape(-1))
            variance = np.where(raw, 1.0, np.asarray(norm.variance).reshape(-1))
            norm = keras.layers.Normalization(axis=-1, mean=mean, variance=variance,
                                                name=LAYER_NAME)
        draft.preprocess.append(norm)
