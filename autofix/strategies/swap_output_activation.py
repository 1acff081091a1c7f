"""Give the output layer the activation (and width) the task needs."""

from __future__ import annotations

from autofix.diagnosis.findings import codes
from autofix.inputs.task import wanted_output
from autofix.model.anatomy import (
    layer_width,
    output_activation,
    output_units,
    width_head,
)
from autofix.model.surgery import clone_changing
from autofix.strategies.base import Strategy, register


@register
class SwapOutputActivation(Strategy):
    name = "swap_output_activation"
    summary = "set the output activation by task (linear / sigmoid / softmax), resizing a wrong-width head"
    answers = frozenset({"output_activation_mismatch"})
    order = 20
    example_scenario = "relu_output_signed_targets"

    def applies(self, problem, findings) -> bool:
        if super().applies(problem, findings):
            return True
        if "loss_mismatch" not in codes(findings):
            return False
        _, activation = output_activation(problem.model)
        return activation != wanted_output(problem.task, output_units(problem.model))[0]

    def apply(self, draft, problem) -> None:
        head, activation = output_activation(draft.core)
        units = draft.output_units
        want_act, want_units = wanted_output(draft.task_for(problem.task), units)
        wanted: dict[str, dict] = {}
        if activation != want_act:
            wanted[head.name] = {"activation": want_act}
        if units != want_units:
            # the layer whose width makes the output: the head itself, or the Dense under
            # a separate Softmax/Activation layer
            sized = width_head(draft.core)
            width = layer_width(sized) if sized is not None else None
            if width is not None and width[1] == units:
                wanted.setdefault(sized.name, {})[width[0]] = want_units
        if wanted:
            clone_changing(draft, wanted)
        draft.params["output_activation"] = want_act
        if draft.setup.from_logits:
            draft.setup = draft.setup.replace(from_logits=False)
