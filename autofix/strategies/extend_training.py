"""Train for longer when the loss was still falling, stopping once it levels off."""

from __future__ import annotations

from .._tf import keras
from .base import Strategy, register

MAX_EPOCHS = 300


@register
class ExtendTraining(Strategy):
    name = "extend_training"
    summary = "train up to 4x longer (at least 40 epochs), stopping when the training loss levels off"
    answers = frozenset({"undertrained"})
    order = 96
    example_scenario = "too_few_epochs"
    tuning = True

    def apply(self, draft, problem) -> None:
        epochs = min(MAX_EPOCHS, max(40, 4 * draft.setup.epochs))
        draft.setup = draft.setup.replace(epochs=epochs)
        draft.callbacks.append(keras().callbacks.EarlyStopping(
            monitor="loss", patience=8, min_delta=1e-4, restore_best_weights=False))
        draft.params["epochs"] = epochs
