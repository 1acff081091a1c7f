"""Give a run that was still learning more room: a higher epoch cap, early stopping on."""

from __future__ import annotations

from autofix.strategies.base import Strategy, register

MAX_EPOCHS = 1000


@register
class ExtendTraining(Strategy):
    name = "extend_training"
    summary = ("train longer (twice the epoch cap, at least 100), stopping once the held-out "
               "loss stops improving")
    answers = frozenset({"undertrained"})
    order = 96
    example_scenario = "too_few_epochs"
    tuning = True

    def apply(self, draft, problem) -> None:
        epochs = min(MAX_EPOCHS, max(100, 2 * draft.setup.epochs))
        draft.setup = draft.setup.replace(epochs=epochs, early_stopping=True)
        draft.params["epochs"] = epochs
