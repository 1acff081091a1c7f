"""Give the output layer the activation (and width) the task needs."""

from __future__ import annotations

from ..findings import codes
from ..setup import output_units
from ..surgery import clone_changing, output_head, wanted_output
from .base import Strategy, register


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
        _, activation = output_head(problem.model)
        return activation != wanted_output(problem.task, output_units(problem.model))[0]

    def apply(self, draft, problem) -> None:
        head, activation = output_head(draft.core)
        want_act, want_units = wanted_output(draft.task_for(problem.task), draft.output_units)
        changes = {}
        if activation != want_act:
            changes["activation"] = want_act
        units = getattr(head, "units", None)
        if units is not None and units != want_units:
            changes["units"] = want_units
        if changes:
            clone_changing(draft, {head.name: changes})
        draft.params["output_activation"] = want_act
        if draft.setup.from_logits:
            draft.setup = draft.setup.replace(from_logits=False)
