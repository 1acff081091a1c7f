"""Train on standardized regression targets; a Rescaling layer undoes it inside the model."""

from __future__ import annotations

import numpy as np

from autofix._backend import keras
from autofix.strategies.base import Strategy, register


@register
class RescaleTargets(Strategy):
    name = "rescale_targets"
    summary = "train on standardized targets; a Rescaling layer maps predictions back to y's units"
    answers = frozenset({"unscaled_targets"})
    order = 85
    example_scenario = "unscaled_targets"

    def applies(self, problem, findings) -> bool:
        return problem.task.kind == "regression" and super().applies(problem, findings)

    def apply(self, draft, problem) -> None:
        if problem.task.kind != "regression":
            return
        y = problem.y.reshape(len(problem.y), -1)
        shift = y.mean(axis=0)
        scale = y.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        draft.target_shift, draft.target_scale = shift, scale
        units = draft.output_units
        s = float(scale[0]) if units == 1 else scale.astype("float32").tolist()
        o = float(shift[0]) if units == 1 else shift.astype("float32").tolist()
        draft.postprocess.append(keras.layers.Rescaling(scale=s, offset=o, name="autofix_unscale_targets"))
