"""keras-tuner oracles for autofix's searches: random search that stops at a deadline, and
one whose first trial is a measured starting point."""

from __future__ import annotations

import time

import keras_tuner as kt
from keras_tuner.src.engine.trial import TrialStatus

STOPPED = {"status": TrialStatus.STOPPED, "values": None}


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
