"""The benchmark's blind search: the repair space as a keras-tuner search, one HyperModel.

:class:`RepairHyperModel` builds a candidate from hyperparameters (one boolean per
strategy, the learning rate, the epochs) and fits it with autofix's lean training, scoring
it on the validation rows. keras-tuner's ``RandomSearch`` over it is the *blind search*
the benchmark compares autofix with; :class:`autofix.search.tuning.DeadlineRandomSearchOracle`
stops it when its time is up.
"""

from __future__ import annotations

import math
import tempfile
import time

from autofix.inputs.problem import Problem
from autofix.search.attempt import Attempt, train_and_judge
from autofix.search.candidate import Candidate, build

BLIND_EXCLUDES = {"tune_training", "retrain"}


def _kt():
    import keras_tuner as kt

    return kt


def make_hypermodel(problem: Problem, usable: dict, record: list):
    """A keras-tuner HyperModel over ``usable`` strategies + learning rate + epochs."""
    kt = _kt()
    names = [n for n in usable if n not in BLIND_EXCLUDES]
    base_epochs = int(problem.setup.epochs)
    epoch_choices = sorted({max(1, base_epochs // 2), base_epochs, 2 * base_epochs, 4 * base_epochs})

    class RepairHyperModel(kt.HyperModel):
        def build(self, hp):
            chosen = [n for n in names if hp.Boolean(n, default=False)]
            lr = hp.Float("learning_rate", 1e-5, 1.0, sampling="log",
                          default=min(max(problem.setup.learning_rate, 1e-5), 1.0))
            epochs = hp.Choice("epochs", epoch_choices, default=base_epochs)
            self.candidate = Candidate.of(sorted(chosen, key=lambda n: usable[n].order),
                                          {"learning_rate": lr, "epochs": epochs})
            self.draft = build(self.candidate, problem, usable)
            return self.draft.assemble(problem.input_shape, for_training=True)

        def fit(self, hp, model, *args, **kwargs):
            attempt: Attempt = train_and_judge(self.candidate, self.draft, problem, model=model)
            record.append((time.monotonic(), attempt))
            score = attempt.metric if attempt.metric is not None else -1e9
            return {"score": score if math.isfinite(score) else -1e9}

    return RepairHyperModel()


def blind_search(problem: Problem, usable: dict, *, seconds: float, seed: int = 0,
                 max_trials: int = 200) -> list[tuple[float, Attempt]]:
    """keras-tuner RandomSearch over the repair space for ``seconds``; returns
    (elapsed seconds, attempt) per trial in the order they finished."""
    kt = _kt()
    record: list = []
    started = time.monotonic()
    from autofix.search.tuning import DeadlineRandomSearchOracle, DirectTuner

    oracle = DeadlineRandomSearchOracle(started + seconds, objective=kt.Objective("score", "max"),
                             max_trials=max_trials, seed=seed, max_consecutive_failed_trials=max_trials)
    with tempfile.TemporaryDirectory(prefix="autofix-blind-") as tmp:
        tuner = DirectTuner(oracle=oracle, hypermodel=make_hypermodel(problem, usable, record),
                         directory=tmp, project_name="blind", overwrite=True)
        tuner.search(verbose=0)
    return [(t - started, a) for t, a in record]
