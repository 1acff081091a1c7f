"""Candidate training spread over many machines with keras-tuner's distributed mode.

No code, only keras-tuner's own environment variables, on every machine the same command
with the same shared ``--workdir``::

    KERASTUNER_TUNER_ID=chief  KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8470 \\
        autofix repair model.keras data.npz --workdir /shared/run1      # diagnoses, serves
    KERASTUNER_TUNER_ID=tuner1 KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8470 \\
        autofix repair model.keras data.npz --workdir /shared/run1      # trains candidates

The chief diagnoses the model and serves the ranked candidates through
:class:`PlannedOracle`; each worker trains the candidates it is handed and writes the
trained model and the attempt record into the shared folder. The chief keeps the first
healthy candidate *in the plan's order* (waiting for earlier ones to finish), so the result
is the one a single process reaches.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .attempt import run_attempt
from .candidate import Candidate
from .problem import Problem

PROJECT = "autofix_repair"


def role() -> str | None:
    """'chief', 'worker', or None (not distributed), from keras-tuner's variables."""
    from keras_tuner.src.distribute import utils as dist_utils

    if not dist_utils.has_chief_oracle():
        return None
    return "chief" if dist_utils.is_chief_oracle() else "worker"


def _space(names):
    import keras_tuner as kt

    hp = kt.HyperParameters()
    for name in names:
        hp.Boolean(name, default=False)
    return hp


def _candidate(values: dict, names) -> Candidate:
    return Candidate.of([n for n in names if values.get(n)])


def _oracle(plan: list, names: list, seed: int):
    import keras_tuner as kt
    from keras_tuner.src.engine import trial as trial_module

    finished = (trial_module.TrialStatus.COMPLETED, trial_module.TrialStatus.FAILED,
                trial_module.TrialStatus.INVALID)

    class PlannedOracle(kt.Oracle):
        """Proposes the diagnosis's candidates in order; stops at the first healthy one
        once every candidate before it has finished."""

        def __init__(self):
            super().__init__(objective=kt.Objective("score", "max"), max_trials=len(plan),
                             hyperparameters=_space(names), tune_new_entries=False,
                             allow_new_entries=False, seed=seed,
                             max_consecutive_failed_trials=len(plan) + 1)
            self.order: dict[str, int] = {}

        def decided(self) -> int | None:
            """Plan index of the answer, once it is certain."""
            by_index = {i: self.trials[t] for t, i in self.order.items() if t in self.trials}
            for i in range(len(plan)):
                trial = by_index.get(i)
                if trial is None or trial.status not in finished:
                    return None
                if trial.metrics.exists("healthy") and trial.metrics.get_last_value("healthy") > 0.5:
                    return i
            return None

        def populate_space(self, trial_id):
            if self.decided() is None and len(self.order) < len(plan):
                index = len(self.order)
                self.order[trial_id] = index
                return {"status": trial_module.TrialStatus.RUNNING,
                        "values": {n: n in plan[index].strategies for n in names}}
            if self.ongoing_trials:  # an earlier candidate may still win: wait for it
                time.sleep(0.2)
                return {"status": trial_module.TrialStatus.IDLE, "values": None}
            return {"status": trial_module.TrialStatus.STOPPED, "values": None}

        def get_state(self):
            state = super().get_state()
            state["autofix_order"] = self.order
            return state

        def set_state(self, state):
            super().set_state(state)
            self.order = state.get("autofix_order", {})

    return PlannedOracle()


def _tuner(oracle, problem: Problem, usable: dict, names: list, workdir: Path):
    from keras_tuner.src.engine.base_tuner import BaseTuner

    class RepairTuner(BaseTuner):
        """Trains one candidate per trial and leaves its model and record in the workdir."""

        trials_run = 0

        def run_trial(self, trial, *args, **kwargs):
            candidate = _candidate(trial.hyperparameters.values, names)
            attempt = run_attempt(candidate, problem, usable)
            self.trials_run += 1
            folder = workdir / PROJECT / f"trial_{trial.trial_id}"
            folder.mkdir(parents=True, exist_ok=True)
            if attempt.model is not None:
                attempt.model.save(folder / "model.keras")
            (folder / "attempt.json").write_text(json.dumps(attempt.to_dict()))
            score = attempt.metric if attempt.metric is not None else -1e9
            return {"score": score, "healthy": 0.0 if attempt.degenerate else 1.0}

    return RepairTuner(oracle=oracle, hypermodel=None, directory=str(workdir),
                       project_name=PROJECT, overwrite=role() == "chief")


class RecordedAttempt:
    """An attempt trained by a worker, read back from the shared folder."""

    def __init__(self, record: dict, folder: Path):
        self.record = record
        self.candidate = Candidate.of(record["strategies"])
        self.metric = record["metric"]
        self.degenerate = record["degenerate"]
        self.outcome = record["outcome"]
        self.reason = record["reason"]
        self.seconds = record["seconds"]
        self.log = self.fit_verdict = self.val_pred = None
        path = folder / "model.keras"
        self._path = path if path.exists() else None
        self._model = None

    @property
    def model(self):
        if self._model is None and self._path is not None:
            from ._tf import keras

            self._model = keras().models.load_model(self._path)
        return self._model

    def to_dict(self) -> dict:
        return dict(self.record)


def serve(problem: Problem, plan: list, usable: dict, workdir: Path, notify) -> list:
    """Chief: serve ``plan`` to the workers until it is decided; return the attempts in
    plan order (up to and including the chosen one)."""
    names = list(usable)
    oracle = _oracle(plan, names, problem.seed)
    tuner = _tuner(oracle, problem, usable, names, workdir)
    notify("distributed", f"serving {len(plan)} candidate(s) on "
                          f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}")
    tuner.search(verbose=0)
    attempts = []
    by_index = {i: t for t, i in oracle.order.items()}
    chosen = oracle.decided()
    for i in range(len(plan)):
        trial_id = by_index.get(i)
        record = workdir / PROJECT / f"trial_{trial_id}" / "attempt.json"
        if trial_id is None or not record.exists():
            continue
        attempts.append(RecordedAttempt(json.loads(record.read_text()), record.parent))
        notify("attempt", attempts[-1])
        if i == chosen:
            break
    return attempts


def work(problem: Problem, usable: dict, workdir: Path) -> int:
    """Worker: train the candidates the chief hands out; return how many."""
    names = list(usable)
    tuner = _tuner(_oracle([], names, problem.seed), problem, usable, names, workdir)
    tuner.search(verbose=0)
    return tuner.trials_run
