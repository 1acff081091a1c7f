"""Retrain the original setup from fresh weights, unchanged.

For a model whose saved weights are degenerate, or fall well short, although its own setup,
retrained by the diagnosis, learns: the model and its training are fine, the weights it came
with are not (trained too briefly, on other data, not at all, or dragged by another output
sharing its layers).
"""

from __future__ import annotations

from autofix.strategies.base import Strategy, register


@register
class Retrain(Strategy):
    name = "retrain"
    summary = "retrain the original model and setup from fresh weights (when only the saved weights are bad)"
    answers = frozenset({"degenerate_predictions", "underperforming_weights"})
    order = 0
    standalone = True
    example_scenario = "stale_weights"

    def applies(self, problem, findings) -> bool:
        rerun = problem.rerun
        if rerun is None or rerun.verdict is None or rerun.verdict.degenerate:
            return False
        return any(f.code in self.answers for f in findings)

    def apply(self, draft, problem) -> None:
        draft.params["retrained"] = True
