"""Make the output head and the loss read the labels the way the user meant them.

Unit k of a multi-unit head is class id k (Keras' convention for sparse labels). Integer
labels the head has no unit for get a head of one unit per id up to the largest (1..K over
K units: K + 1 units; 0, 10, ..., 90 over 10 units: 91), so the ids stay the user's and the
fixed model's argmax is their label; fractional ids scaled by a constant (0.0, 0.1, ...,
0.9 with a 10-unit head) cannot number units and are trained as the ids the head shows
(y / 0.1), which the report's ``label_map`` says; ids under a loss that reads one-hot rows
get the loss for ids.
"""

from __future__ import annotations

from autofix.diagnosis.model_checks import label_plan
from autofix.model.anatomy import nearest
from autofix.model.surgery import clone_changing
from autofix.strategies.base import Strategy, register


def width_layer(model):
    """The layer that sets the output width (the last Dense before a Softmax layer...)."""
    return nearest(model.layers[-1], lambda layer: "units" in layer.get_config())


@register
class FixLabelEncoding(Strategy):
    name = "fix_label_encoding"
    summary = ("read class labels as the head shows them: widen a head that lacks a unit for "
               "the top id, train fractional scaled ids as ids (y / constant), use the loss for ids")
    answers = frozenset({"label_encoding"})
    order = 18  # before swap_output_activation, which sizes the head for the recoded ids
    example_scenario = "labels_one_to_k"

    def apply(self, draft, problem) -> None:
        plan = label_plan(problem.task, draft.output_units, draft.setup, problem.model)
        if plan is None:
            return
        if plan["divide_by"] is not None:
            draft.label_divisor = plan["divide_by"]
        units = draft.output_units
        if plan["wanted_units"] != units:
            layer = width_layer(draft.core)
            if layer is None:
                raise ValueError("no layer with units sets the output width")
            clone_changing(draft, {layer.name: {"units": int(plan["wanted_units"])}})
            draft.params["output_units"] = int(plan["wanted_units"])
        if plan["loss"]:
            draft.setup = draft.setup.replace(loss=plan["loss"])
            draft.params["loss"] = plan["loss"]
        if plan["label_map"]:
            draft.params["label_map"] = plan["label_map"]
