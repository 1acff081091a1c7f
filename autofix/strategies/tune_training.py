"""Search the learning rate and the number of epochs with keras-tuner.

The search runs on an inner split of the training rows (never the validation rows the
repair is judged on), in a temporary directory, silent and seeded. The winning values
become the candidate's training setup.
"""

from __future__ import annotations

import math
import tempfile
import time

from .base import Strategy, register

MAX_TRIALS = 5
MAX_ROWS = 2048


def _search(draft, problem, registry_) -> dict:
    import keras_tuner as kt

    from ..candidate import build
    from ..judge import judge
    from ..problem import split
    from ..training import encode_targets, fit, predict

    x_fit, x_check, y_fit, y_check = split(problem.x[:MAX_ROWS], problem.y[:MAX_ROWS],
                                            problem.task, seed=problem.seed + 1)
    base_epochs = int(draft.setup.epochs)
    epoch_choices = sorted({base_epochs, max(20, 2 * base_epochs), max(40, 4 * base_epochs)})
    base_lr = float(draft.setup.learning_rate)
    prefix = draft.recipe
    input_shape = problem.input_shape

    class TrainingHyperModel(kt.HyperModel):
        def build(self, hp):
            hp.Float("learning_rate", 1e-4, 3e-2, sampling="log", default=min(max(base_lr, 1e-4), 3e-2))
            hp.Choice("epochs", epoch_choices, default=base_epochs)
            self.draft = build(prefix, problem, registry_)
            return self.draft.assemble(input_shape, for_training=True)

        def fit(self, hp, model, *args, **kwargs):
            d = self.draft
            d.setup = d.setup.replace(learning_rate=hp.get("learning_rate"), epochs=hp.get("epochs"))
            task = d.task_for(problem.task)  # recoded labels (scaled ids) as the attempt sees them
            targets = encode_targets(task, d.setup, d.training_targets(y_fit), d.output_units)
            log = fit(model, d.setup, x_fit, targets, seed=problem.seed, deadline=problem.deadline)
            if not log.finite or log.stopped == "error":
                return {"score": -1e9}
            deployed = d.assemble(input_shape)
            verdict = judge(task, d.labels(y_fit), d.labels(y_check), predict(deployed, x_check))
            score = verdict.metric if math.isfinite(verdict.metric) else -1e9
            return {"score": score - (1.0 if verdict.near_constant else 0.0)}

    from ..search import deadline_oracle

    stop_at = problem.deadline if problem.deadline is not None else float("inf")
    oracle = deadline_oracle(stop_at, objective=kt.Objective("score", "max"),
                             max_trials=MAX_TRIALS, seed=problem.seed)
    with tempfile.TemporaryDirectory(prefix="autofix-tune-") as tmp:
        tuner = kt.Tuner(oracle=oracle, hypermodel=TrainingHyperModel(), directory=tmp,
                         project_name="tune_training", overwrite=True)
        started = time.monotonic()
        tuner.search(verbose=0)
        found = tuner.get_best_hyperparameters(1)
        if not found:
            raise TimeoutError("no time left for the learning-rate search")
        best = found[0]
        return {"learning_rate": float(f"{best.get('learning_rate'):.3g}"),
                "epochs": int(best.get("epochs")),
                "trials": len(tuner.oracle.trials),
                "search_seconds": round(time.monotonic() - started, 2)}


@register
class TuneTraining(Strategy):
    name = "tune_training"
    summary = "keras-tuner search over learning rate and epochs on an inner split of the training rows"
    answers = frozenset({"learning_rate_too_high", "learning_rate_too_low", "undertrained",
                         "degenerate_predictions"})
    order = 99
    example_scenario = "too_few_epochs"
    tuning = True

    def applies(self, problem, findings) -> bool:
        # the planner's last resort: proposed after the direct repairs, never first
        return any(f.code in self.answers for f in findings)

    def apply(self, draft, problem) -> None:
        from . import registry

        key = ("tune_training", draft.recipe)
        if key not in problem.notes:
            problem.notes[key] = _search(draft, problem, registry())
        chosen = problem.notes[key]
        draft.setup = draft.setup.replace(learning_rate=chosen["learning_rate"], epochs=chosen["epochs"])
        draft.params.update(chosen)
