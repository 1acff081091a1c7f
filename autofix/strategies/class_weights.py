"""Weight classes inversely to their frequency so the majority class cannot win alone."""

from __future__ import annotations

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from autofix.inputs.task import class_ids
from autofix.strategies.base import Strategy, register


@register
class ClassWeights(Strategy):
    name = "class_weights"
    summary = "balanced class weights (sklearn) so predictions stop collapsing onto the majority class"
    answers = frozenset({"class_imbalance"})
    order = 90
    example_scenario = "imbalanced_collapse"

    def applies(self, problem, findings) -> bool:
        return problem.task.kind in ("binary", "multiclass") and super().applies(problem, findings)

    def apply(self, draft, problem) -> None:
        if problem.task.kind not in ("binary", "multiclass"):
            return  # no classes to weigh (regression, multilabel)
        ids = class_ids(problem.task, problem.y)
        present = np.unique(ids)
        weights = compute_class_weight("balanced", classes=present, y=ids)
        draft.setup = draft.setup.replace(
            class_weight={int(c): float(w) for c, w in zip(present, weights)})
        draft.params["class_weight"] = draft.setup.class_weight
