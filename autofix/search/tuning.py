"""keras-tuner pieces for autofix's searches: random search that stops at a deadline, one
whose first trial is a measured starting point, and a tuner without per-trial clean-up."""

from __future__ import annotations

import time

import keras_tuner as kt
from keras_tuner.engine.trial import TrialStatus

STOPPED = {"status": TrialStatus.STOPPED, "values": None}


class DirectTuner(kt.Tuner):
    """keras-tuner's ``Tuner`` that builds and fits each trial through its hypermodel as they
    are. The stock ``run_trial`` clears the Keras session and runs ``gc.collect()`` before
    every build, which in a process holding TensorFlow costs about 0.2 s a trial (measured
    here: 2.3 s of a 7.0 s five-trial search) and frees nothing autofix keeps."""

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        return self.hypermodel.fit(hp, self.hypermodel.build(hp), *args, **kwargs)


class DeadlineRandomSearchOracle(kt.oracles.RandomSearchOracle):
    """keras-tuner's RandomSearch that proposes no trial once ``deadline`` has passed."""

    def __init__(self, deadline: float, **kwargs):
        super().__init__(**kwargs)
        self.deadline = deadline

    def populate_space(self, trial_id):
        if time.monotonic() >= self.deadline:
            return STOPPED
        return super().populate_space(trial_id)


class SeededRandomSearchOracle(DeadlineRandomSearchOracle):
    """Random search whose first trial is the hyperparameters' defaults: the point a
    measurement picked (a range test's learning rate), refined by the trials after it."""

    def populate_space(self, trial_id):
        if time.monotonic() >= self.deadline:
            return STOPPED
        if not self.trials:
            return {"status": TrialStatus.RUNNING,
                    "values": {hp.name: hp.default for hp in self.hyperparameters.space}}
        return super().populate_space(trial_id)
