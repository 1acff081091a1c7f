"""Train with the loss that fits the task, the label format and the output width."""

from __future__ import annotations

from autofix.inputs.task import default_loss
from autofix.strategies.base import Strategy, register


@register
class ChangeLoss(Strategy):
    name = "change_loss"
    summary = "switch to the loss that fits the task and label format (e.g. mse -> categorical_crossentropy)"
    answers = frozenset({"loss_mismatch"})
    order = 30
    example_scenario = "mse_on_onehot"

    def apply(self, draft, problem) -> None:
        loss = default_loss(problem.task, draft.output_units)
        draft.setup = draft.setup.replace(loss=loss, from_logits=False)
        draft.params["loss"] = loss
