"""The repair search: from targeted repairs to a textbook rebuild, until a candidate reaches
what the data allows or the budget runs out.

Rounds, each built from what the previous one showed:

1. the targeted repairs the diagnosis calls for (every error finding answered at once, then
   the warnings too, then the model fixes alone);
2. the best of those with its learning rate measured by a range test (and gradients
   clipped if its loss went NaN);
3. the textbook rebuild (fresh init, the task's head and loss, normalization, Adam at
   1e-3, early stopping), a safety net for what the targeted repairs did not reach, then
   the same with its learning rate measured;
4. the best so far refined by keras-tuner (learning rate and batch size around a measured
   learning rate).

Every candidate trains with early stopping on rows held out of the training rows, up to an
epoch cap. The search stops as soon as a candidate recovers :data:`TARGET_RECOVERY` of the
reference model's gain over the constant baseline; otherwise it returns the best candidate
by validation metric once the rounds or the budget run out.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from autofix import interrupts
from autofix.diagnosis import training_checks
from autofix.diagnosis.diagnose import add_rerun
from autofix.diagnosis.findings import codes
from autofix.search.attempt import Attempt, run_attempt
from autofix.search.candidate import Candidate
from autofix.search.planner import plan

#: the search goes on while the best candidate recovers less than this share of the
#: reference's gain over the constant baseline (the reference is a quick scikit-learn model,
#: often a little weaker than a well-built network: aiming a little above 0.9 keeps a repair
#: that lands at 0.9 of the reference from stopping short of what a correct model reaches)
TARGET_RECOVERY = 0.95
#: two candidates whose metrics are this close are equally good: the earlier (more
#: targeted, smaller) repair is kept
TIE = 0.01
MAX_EPOCHS = 300
#: the default budget: this many times the user's own training, within these bounds
BUDGET_FACTOR, MIN_BUDGET, MAX_BUDGET = 10.0, 30.0, 180.0
#: no candidate may take more than this share of the time left
CANDIDATE_SHARE = 0.6
REBUILD, TUNER, MEASURE, CLIP = "rebuild", "tune_training", "adjust_learning_rate", "clip_gradients"


#: a candidate may always take at least this many optimizer steps (tiny data needs many
#: epochs to take as many steps as a run on a few thousand rows)
MIN_STEPS = 2000


def epoch_cap(user_epochs: int, steps_per_epoch: int = 1_000_000) -> int:
    """How long a candidate may train (early stopping usually ends it sooner): at least the
    user's own epochs, otherwise 4x them within [100, MAX_EPOCHS], and at least
    :data:`MIN_STEPS` optimizer steps."""
    cap = max(int(user_epochs), min(MAX_EPOCHS, max(100, 4 * int(user_epochs))))
    return max(cap, math.ceil(MIN_STEPS / max(steps_per_epoch, 1)))


@dataclass
class Target:
    """What the data allows, from the diagnosis's reference model: a candidate's recovery is
    ``(metric - constant) / (reference - constant)``."""

    constant: float | None = None
    reference: float | None = None

    @classmethod
    def from_reference(cls, reference: dict | None) -> "Target":
        if not reference or reference.get("degenerate", True):
            return cls()
        return cls(reference.get("constant"), reference.get("metric"))

    @property
    def known(self) -> bool:
        return (self.reference is not None and self.constant is not None
                and self.reference > self.constant)

    def recovery(self, metric: float | None) -> float | None:
        if metric is None or not self.known or not math.isfinite(metric):
            return None
        return float((metric - self.constant) / (self.reference - self.constant))

    def reached(self, attempt: Attempt) -> bool:
        if attempt.degenerate:
            return False
        return not self.known or (attempt.recovery or 0.0) >= TARGET_RECOVERY


@dataclass
class Budget:
    """The search's time: the user's ``--budget``, or a default that scales with the user's
    own training cost (known once one training run has been timed)."""

    started: float
    seconds: float | None = None
    given: bool = False

    @property
    def deadline(self) -> float:
        return self.started + (self.seconds if self.seconds is not None else MAX_BUDGET)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    @property
    def settled(self) -> bool:
        return self.given or self.seconds is not None

    def settle(self, epoch_seconds: float | None, user_epochs: int) -> None:
        """Fix the default budget from the measured cost of one epoch."""
        if self.settled or not epoch_seconds:
            return
        self.seconds = round(min(MAX_BUDGET, max(MIN_BUDGET, BUDGET_FACTOR * epoch_seconds
                                                 * user_epochs)), 1)


def epoch_seconds(log, rows_trained: int = 1, rows_total: int = 1) -> float | None:
    """Seconds one epoch over ``rows_total`` rows costs, from a timed training run over
    ``rows_trained`` rows."""
    per_epoch = None if log is None else log.seconds_per_epoch
    if not per_epoch:
        return None
    return per_epoch * max(1.0, rows_total / max(rows_trained, 1))


class SettlingDeadline:
    """A candidate's deadline while the default budget is not yet known: as soon as the
    candidate's own epochs are timed the budget is settled from them, and the candidate
    keeps :data:`CANDIDATE_SHARE` of it (so one slow candidate cannot spend the whole
    budget before the budget is even known)."""

    def __init__(self, search: "Search", started: float):
        self.search, self.started = search, started

    def __call__(self, log) -> float:
        budget = self.search.budget
        budget.settle(epoch_seconds(log), self.search.problem.setup.epochs)
        return self.started + CANDIDATE_SHARE * max(budget.deadline - self.started, 0.0)


def train_here(search: "Search", queue: list):
    """Train the queue's candidates one at a time in this process (the queue may grow
    while this runs: the search can add candidates between two)."""
    while queue and search.time_left():
        interrupts.check()
        candidate = queue.pop(0)
        if candidate not in search.tried:
            yield search.train(candidate)


def best_attempt(attempts: list[Attempt], above: float | None = None) -> Attempt | None:
    """The best non-degenerate attempt by metric (beating ``above``, the given model's
    metric when that model already works, by more than :data:`TIE`); among near-ties the
    earliest."""
    good = [a for a in attempts if not a.degenerate and a.metric is not None
            and (above is None or a.metric > above + TIE)]
    if not good:
        return None
    top = max(a.metric for a in good)
    return next(a for a in good if a.metric >= top - TIE)


def strongest(attempts: list[Attempt]) -> Attempt | None:
    """The attempt with the highest metric, degenerate or not (what to build on)."""
    scored = [a for a in attempts if a.metric is not None]
    return max(scored, key=lambda a: a.metric) if scored else None


def apply_policy(problem) -> None:
    """How every candidate trains (the same on the chief and on every worker): up to the
    epoch cap, stopped early on held-out loss."""
    rows = len(problem.rows[0]) if problem.holdout == "folds" else len(problem.x)
    steps = math.ceil(0.8 * rows / max(problem.setup.batch_size, 1))
    problem.policy = {"epochs": epoch_cap(problem.setup.epochs, steps), "early_stopping": True}


class Search:
    """One repair search over ``usable`` strategies; attempts are appended to a list the
    caller owns, so that an interrupt keeps every attempt finished so far.

    ``execute(search, queue)`` trains a round's candidates and yields their attempts in the
    queue's order; the default trains them here, one at a time (and the queue may grow
    while it runs). :mod:`autofix.search.distributed` hands the whole round to keras-tuner workers
    instead: the decisions (which candidate reaches the target, which rounds follow) are
    the same, so a distributed run reaches the same result."""

    def __init__(self, problem, diagnosis, usable: dict, budget: Budget, *, notify,
                 forced: bool = False, execute=None):
        self.problem, self.diagnosis, self.usable = problem, diagnosis, dict(usable)
        self.budget, self.notify, self.forced = budget, notify, forced
        self.execute = execute or train_here
        self.target = Target.from_reference(diagnosis.reference)
        self.tried: set = set()
        apply_policy(problem)
        problem.deadline = budget.deadline

    # -- the loop -------------------------------------------------------------------------
    def run(self, attempts: list) -> None:
        rounds = [self.first_round, self.measured_round, self.rebuild_round, self.tuned_round]
        for make_round in rounds:
            queue = make_round(attempts)
            if self._run_round(queue, attempts):
                return
            if self.budget.left() <= 0 or self.hopeless(attempts):
                return

    def fresh(self, queue: list) -> list:
        """The queue without duplicates and candidates already tried."""
        out = []
        for candidate in queue:
            if candidate.strategies and candidate not in self.tried and candidate not in out:
                out.append(candidate)
        return out

    def _run_round(self, queue: list, attempts: list) -> bool:
        """Train the round's candidates in order; True once one reaches the target."""
        queue[:] = self.fresh(queue)
        for attempt in self.execute(self, queue):
            self.tried.add(attempt.candidate)
            attempt.recovery = self.target.recovery(attempt.metric)
            attempts.append(attempt)
            self.notify("attempt", attempt)
            if self.target.reached(attempt):
                return True
            if attempt.broken_strategy:  # drop the strategy that raised, everywhere
                broken = attempt.broken_strategy
                self.usable.pop(broken, None)
                queue[:] = self.fresh([attempt.candidate.without(broken),
                                       *(c.without(broken) for c in queue)])
            if attempt.degenerate and not self.diagnosis.reran:
                # the cheap evidence did not suffice: gather the rest, then plan with it
                add_rerun(self.problem, self.diagnosis)
                self.notify("diagnosis", self.diagnosis)
                queue[:0] = self.fresh(plan(self.problem, self.diagnosis.findings, self.usable))
        return False

    def time_left(self) -> bool:
        return self.budget.left() > 0

    def train(self, candidate: Candidate) -> Attempt:
        """Train and judge one candidate in this process, within its share of the budget."""
        self.notify("attempt_start", candidate)
        self.problem.deadline = self.budget.deadline
        if self.budget.settled or self.problem.holdout == "folds":
            attempt = run_attempt(candidate, self.problem, self.usable, share=CANDIDATE_SHARE)
        else:  # the default budget is settled by this candidate's own first epochs
            attempt = run_attempt(candidate, self.problem, self.usable,
                                  deadline=SettlingDeadline(self, time.monotonic()))
        if attempt.log is not None:
            self.budget.settle(epoch_seconds(attempt.log), self.problem.setup.epochs)
        self.problem.deadline = self.budget.deadline
        return attempt

    def hopeless(self, attempts: list) -> bool:
        """No signal in the data by the reference's account, and what was tried did not
        learn it either: more rounds would only spend the budget."""
        return ("no_signal" in codes(self.diagnosis.findings) and bool(attempts)
                and all(a.degenerate for a in attempts))

    # -- the rounds -----------------------------------------------------------------------
    def first_round(self, attempts: list) -> list:
        """The targeted repairs (none when the diagnosis found no specific cause: the
        generic rounds follow)."""
        queue = plan(self.problem, self.diagnosis.findings, self.usable)
        if self.forced and not queue:  # the user named strategies that no finding calls for
            names = [n for n in self.usable if n != TUNER]
            queue = [Candidate.of([n]) for n in names] + [Candidate.of(names)]
        return queue

    def _base(self, attempts: list) -> Candidate:
        """What the later rounds build on: the best candidate so far, without the
        training-only strategies that those rounds replace."""
        best = best_attempt(attempts) or strongest(attempts)
        if best is None:
            return Candidate()
        drop = {MEASURE, TUNER}
        return Candidate.of([s for s in best.candidate.strategies if s not in drop])

    def measured_round(self, attempts: list) -> list:
        if MEASURE not in self.usable:
            return []
        base = self._base(attempts)
        if REBUILD in base.strategies:
            return []
        diverged = any(a.log is not None and training_checks.nonfinite_loss(a.log)
                       for a in attempts)
        extra = [CLIP] if diverged and CLIP in self.usable else []
        names = sorted([*base.strategies, *extra, MEASURE], key=lambda n: self.usable[n].order)
        return [Candidate.of(names)]

    def tuned_round(self, attempts: list) -> list:
        if TUNER not in self.usable:
            return []
        return [self._base(attempts).plus(TUNER)]

    def rebuild_round(self, attempts: list) -> list:
        """The textbook rebuild as it stands (Adam at 1e-3), then with its learning rate
        measured."""
        if REBUILD not in self.usable:
            return []
        textbook = Candidate.of([REBUILD])
        return [textbook, textbook.plus(MEASURE)] if MEASURE in self.usable else [textbook]
