"""Refine the learning rate and batch size with keras-tuner, around a measured start.

The first trial is the learning rate a range test measured on the candidate as built so far
(keras-tuner's defaults); the trials after it sample a decade either side of it and the
batch sizes around the user's. Each trial trains with early stopping on rows held out of the
training rows and is scored there: never on the validation rows the repair is judged on.
The search runs in a temporary folder, silent, seeded, and stops at the repair's deadline.
"""

from __future__ import annotations

import math
import tempfile
import time

import keras_tuner as kt

from autofix.inputs.problem import split
from autofix.judge import judge
from autofix.search.candidate import build
from autofix.search.tuning import DirectTuner, SeededRandomSearchOracle
from autofix.strategies import registry
from autofix.strategies.adjust_learning_rate import measured_learning_rate
from autofix.strategies.base import Strategy, register
from autofix.training.fit import encode_targets, fit, predict

MAX_TRIALS = 5
MAX_ROWS = 4096
SEARCH_SHARE = 0.5


class TrainingHyperModel(kt.HyperModel):
    """Starts each trial from the candidate's draft as first built; fits it with the trial's
    learning rate and batch size; scores it on held-out training rows."""

    def __init__(self, problem, prefix, registry_, start_lr: float, rows):
        super().__init__()
        self.problem, self.prefix, self.registry, self.start_lr = problem, prefix, registry_, start_lr
        self.x_fit, self.y_fit, self.x_check, self.y_check = rows
        self.draft = self.model = self.start = None

    def build(self, hp):
        base = self.problem.setup.batch_size
        hp.Float("learning_rate", self.start_lr / 10, min(self.start_lr * 10, 10.0),
                 sampling="log", default=self.start_lr)
        hp.Choice("batch_size", sorted({max(8, base // 2), base, base * 2}), default=base)
        if self.draft is None:
            self.draft = build(self.prefix, self.problem, self.registry)
            self.model = self.draft.assemble(self.problem.input_shape, for_training=True)
            self.start = [v.numpy() for v in self.model.variables]
        else:
            # every trial builds the same seeded draft: its first weights are put back
            # instead (a rebuild costs a clone per strategy, about 0.1 s each)
            for variable, value in zip(self.model.variables, self.start):
                variable.assign(value)
        return self.model

    def fit(self, hp, model, *args, **kwargs):
        draft, problem = self.draft, self.problem
        draft.setup = draft.setup.replace(learning_rate=hp.get("learning_rate"),
                                          batch_size=hp.get("batch_size"))

        task = draft.task_for(problem.task)  # recoded labels (scaled ids) as the attempt sees them

        def targets(y):
            return encode_targets(task, draft.setup, draft.training_targets(y), draft.output_units)

        log = fit(model, draft.setup, self.x_fit, targets(self.y_fit), seed=problem.seed,
                  deadline=problem.deadline, validation=(self.x_check, targets(self.y_check)))
        if not log.finite or log.stopped == "error":
            return {"score": -1e9}
        verdict = judge(task, draft.labels(self.y_fit), draft.labels(self.y_check),
                        predict(draft.assemble(problem.input_shape), self.x_check))
        score = verdict.metric if math.isfinite(verdict.metric) else -1e9
        return {"score": score - (1.0 if verdict.near_constant else 0.0)}


def _rows(problem):
    held = problem.early_stopping_split()
    if held is not None:
        x_fit, y_fit, x_check, y_check = held
        return x_fit[:MAX_ROWS], y_fit[:MAX_ROWS], x_check, y_check
    x_fit, x_check, y_fit, y_check = split(problem.x, problem.y, problem.task,
                                           seed=problem.seed + 1)
    return x_fit, y_fit, x_check, y_check


def _search(draft, problem, registry_) -> dict:
    start_lr = measured_learning_rate(draft, problem)["suggestion"] or draft.setup.learning_rate
    hypermodel = TrainingHyperModel(problem, draft.recipe, registry_, float(start_lr),
                                    _rows(problem))
    # the trials may spend half the time left; the candidate they tune trains in the rest
    stop_at = float("inf") if problem.deadline is None else \
        time.monotonic() + SEARCH_SHARE * max(problem.deadline - time.monotonic(), 0.0)
    oracle = SeededRandomSearchOracle(stop_at, objective=kt.Objective("score", "max"),
                                      max_trials=MAX_TRIALS, seed=problem.seed)
    with tempfile.TemporaryDirectory(prefix="autofix-tune-") as tmp:
        tuner = DirectTuner(oracle=oracle, hypermodel=hypermodel, directory=tmp,
                         project_name="tune_training", overwrite=True)
        started = time.monotonic()
        tuner.search(verbose=0)
        found = tuner.get_best_hyperparameters(1)
        if not found:
            raise TimeoutError("no time left for the learning-rate search")
        best = found[0]
        return {"learning_rate": float(f"{best.get('learning_rate'):.3g}"),
                "batch_size": int(best.get("batch_size")),
                "start_learning_rate": float(f"{start_lr:.3g}"),
                "trials": len(tuner.oracle.trials),
                "search_seconds": round(time.monotonic() - started, 2)}


@register
class TuneTraining(Strategy):
    name = "tune_training"
    summary = ("keras-tuner search over learning rate and batch size, starting from a measured "
               "learning rate, scored on rows held out of the training rows")
    answers = frozenset({"learning_rate_too_high", "learning_rate_too_low", "undertrained",
                         "degenerate_predictions"})
    order = 99
    example_scenario = "too_few_epochs"
    tuning = True

    def applies(self, problem, findings) -> bool:
        # the planner's last resort: proposed after the direct repairs, never first
        return any(f.code in self.answers for f in findings)

    def apply(self, draft, problem) -> None:
        key = ("tune_training", draft.recipe)
        if key not in problem.cache:
            problem.cache[key] = _search(draft, problem, registry())
        chosen = problem.cache[key]
        draft.setup = draft.setup.replace(learning_rate=chosen["learning_rate"],
                                          batch_size=chosen["batch_size"])
        draft.params.update(chosen)
