"""Candidate training spread over many machines with keras-tuner's distributed mode.

No code, only keras-tuner's own environment variables, on every machine the same command
with the same shared ``--workdir``::

    KERASTUNER_TUNER_ID=chief  KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8470 \\
        autofix repair model.keras data.npz --workdir /shared/run1      # diagnoses, searches
    KERASTUNER_TUNER_ID=tuner1 KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8470 \\
        autofix repair model.keras data.npz --workdir /shared/run1      # trains candidates

The chief runs the same search as a single process (:class:`autofix.search.engine.Search`): the
same rounds, the same decisions. Only the training of each round's candidates moves: the
chief hands the whole round to the workers through :class:`RoundOracle` (one keras-tuner
trial per candidate, trained in parallel), then reads the attempts back from the shared
folder in the round's order, so the candidate it keeps is the one a single process keeps.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import keras_tuner as kt
from keras_tuner.engine.base_tuner import BaseTuner
from keras_tuner.engine.trial import TrialStatus

# keras-tuner's distribution helpers have no public path: the one place autofix reads its
# private modules
from keras_tuner.src.distribute import oracle_chief
from keras_tuner.src.distribute import utils as dist_utils

from autofix import interrupts
from autofix._backend import keras
from autofix.errors import InputError
from autofix.inputs.problem import Problem
from autofix.search.attempt import Attempt, run_attempt
from autofix.search.candidate import Candidate
from autofix.search.engine import Search, apply_policy

PROJECT = "autofix_repair"
#: how long the chief waits for a candidate beyond the budget before calling it failed
GRACE_SECONDS = 60.0


def role() -> str | None:
    """'chief', 'worker', or None (not distributed), from keras-tuner's variables."""
    if not dist_utils.has_chief_oracle():
        return None
    return "chief" if dist_utils.is_chief_oracle() else "worker"


def checked_role(workdir) -> str | None:
    """:func:`role`, once a distributed run has the shared folder it needs; else one
    :class:`InputError` line."""
    found = role()
    if found is not None and workdir is None:
        raise InputError("distributed mode (KERASTUNER_* variables set) needs --workdir, a "
                         "folder every machine shares")
    return found


def _space(names) -> kt.HyperParameters:
    """A candidate as hyperparameters: one boolean per strategy, and its index in the run."""
    hp = kt.HyperParameters()
    for name in names:
        hp.Boolean(name, default=False)
    hp.Int("candidate", 0, 1_000_000, default=0)
    return hp


def _candidate(values: dict, names) -> Candidate:
    return Candidate.of([n for n in names if values.get(n)])


def _folder(workdir: Path, index: int) -> Path:
    return workdir / PROJECT / f"candidate_{index}"


class RoundOracle(kt.Oracle):
    """Hands out the candidates the chief's search submits, one trial each, in order; idle
    while the search decides what comes next; stopped once it is done."""

    def __init__(self, names, seed: int):
        super().__init__(objective=kt.Objective("score", "max"), max_trials=1_000_000,
                         hyperparameters=_space(names), tune_new_entries=False,
                         allow_new_entries=False, seed=seed,
                         max_consecutive_failed_trials=1_000_000)
        self.names = list(names)
        self.pending: list = []
        self.finished = False
        self._guard = threading.Lock()

    def submit(self, index: int, candidate: Candidate) -> None:
        values = {n: n in candidate.strategies for n in self.names}
        with self._guard:
            self.pending.append({**values, "candidate": index})

    def finish(self) -> None:
        with self._guard:
            self.finished = True

    def populate_space(self, trial_id):
        with self._guard:
            if self.pending:
                return {"status": TrialStatus.RUNNING, "values": self.pending.pop(0)}
            if self.finished:
                return {"status": TrialStatus.STOPPED, "values": None}
        time.sleep(0.2)  # the search is deciding the next round: ask again shortly
        return {"status": TrialStatus.IDLE, "values": None}


class RepairTuner(BaseTuner):
    """A worker: trains one candidate per trial and leaves its model and attempt record in
    the shared folder, under the candidate's index."""

    def __init__(self, oracle, problem: Problem, usable: dict, workdir: Path, **kwargs):
        super().__init__(oracle=oracle, hypermodel=None, directory=str(workdir),
                         project_name=PROJECT, **kwargs)
        self.problem, self.usable, self.workdir = problem, usable, workdir
        self.trials_run = 0

    def run_trial(self, trial, *args, **kwargs):
        values = trial.hyperparameters.values
        attempt = run_attempt(_candidate(values, list(self.usable)), self.problem, self.usable)
        self.trials_run += 1
        folder = _folder(self.workdir, int(values["candidate"]))
        folder.mkdir(parents=True, exist_ok=True)
        if attempt.model is not None:
            attempt.model.save(folder / "model.keras")
        record = {**attempt.to_dict(), "broken_strategy": attempt.broken_strategy}
        tmp = folder / "attempt.json.tmp"
        tmp.write_text(json.dumps(record))
        os.replace(tmp, folder / "attempt.json")  # the chief never reads half a record
        score = attempt.metric if attempt.metric is not None else -1e9
        return {"score": score}


class RecordedAttempt(Attempt):
    """An attempt trained by a worker, read back from the shared folder (its model is
    loaded when asked for)."""

    def __init__(self, candidate: Candidate, record: dict, folder: Path):
        super().__init__(candidate, params=record.get("params", {}), reason=record["reason"],
                         seconds=record["seconds"], judged_by=record.get("judged_by", ""))
        self.record = record
        self.broken_strategy = record.get("broken_strategy")
        self._metric, self._degenerate = record["metric"], record["degenerate"]
        self._path = folder / "model.keras" if (folder / "model.keras").exists() else None
        self._model = None

    @property
    def failed(self) -> bool:
        return self.record["outcome"] == "failed"

    @property
    def degenerate(self) -> bool:
        return self._degenerate

    @property
    def metric(self):
        return self._metric

    @property
    def model(self):
        if self._model is None and self._path is not None:
            self._model = keras.models.load_model(self._path)
        return self._model

    @model.setter
    def model(self, value):
        self._model = value

    def to_dict(self) -> dict:
        return {**self.record, "recovery": self.recovery}


class RemoteTraining:
    """The chief's way of training a round: submit every candidate of the queue at once
    (the workers train them in parallel), then wait for each in the queue's order."""

    def __init__(self, oracle: RoundOracle, workdir: Path):
        self.oracle, self.workdir = oracle, workdir
        self.submitted: dict = {}

    def __call__(self, search: Search, queue: list):
        while queue and search.time_left():
            for candidate in queue:
                if candidate not in self.submitted:
                    index = len(self.submitted)
                    self.submitted[candidate] = index
                    self.oracle.submit(index, candidate)
            candidate = queue.pop(0)
            search.notify("attempt_start", candidate)
            yield self._wait(candidate, search.budget.deadline + GRACE_SECONDS)

    def _wait(self, candidate: Candidate, until: float) -> Attempt:
        folder = _folder(self.workdir, self.submitted[candidate])
        record = folder / "attempt.json"
        while not record.exists():
            interrupts.check()
            if time.monotonic() > until:
                return Attempt(candidate, reason="no worker reported this candidate back in time")
            time.sleep(0.2)
        return RecordedAttempt(candidate, json.loads(record.read_text()), folder)


def serve(problem: Problem, diagnosis, usable: dict, budget, workdir: Path, notify,
          attempts: list, *, forced: bool = False) -> None:
    """Chief: run the search, with the workers training each round's candidates."""
    oracle = RoundOracle(list(usable), problem.seed)
    tuner = RepairTuner(oracle, problem, usable, workdir, overwrite=True)
    server = threading.Thread(target=tuner.search, kwargs={"verbose": 0}, daemon=True)
    server.start()  # keras-tuner's oracle server, answering the workers
    notify("distributed", f"serving candidates on {os.environ['KERASTUNER_ORACLE_IP']}:"
                          f"{os.environ['KERASTUNER_ORACLE_PORT']}")
    try:
        Search(problem, diagnosis, usable, budget, notify=notify, forced=forced,
               execute=RemoteTraining(oracle, workdir)).run(attempts)
    finally:
        oracle.finish()
        _let_workers_go(oracle)


def _let_workers_go(oracle: RoundOracle, wait: float = 30.0) -> None:
    """Keep answering until every worker has been told to stop (or ``wait`` runs out)."""
    until = time.monotonic() + wait
    while time.monotonic() < until and not interrupts.requested():
        if oracle_chief.exit_chief(oracle):
            return
        time.sleep(0.2)


def work(problem: Problem, usable: dict, workdir: Path) -> int:
    """Worker: train the candidates the chief hands out; return how many."""
    apply_policy(problem)  # the chief's own training policy: the same attempts
    tuner = RepairTuner(RoundOracle(list(usable), problem.seed), problem, usable, workdir)
    tuner.search(verbose=0)
    return tuner.trials_run
