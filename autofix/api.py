"""The Python API: :func:`diagnose` and :func:`repair`, the data path top to bottom:
load → validate → diagnose → plan → retrain → judge → report."""

from __future__ import annotations

import functools
import time
import warnings
from pathlib import Path

import numpy as np

from autofix import interrupts
from autofix.diagnosis.diagnose import (
    PROBE_ROWS,
    Diagnosis,
    add_rerun,
    diagnose_problem,
    static_diagnosis,
)
from autofix.diagnosis.findings import Finding, Findings
from autofix.errors import InputError
from autofix.inputs.preparation import as_model, prepare
from autofix.interrupts import deferred_interrupts
from autofix.options import check_budget
from autofix.reporting.progress import default_progress
from autofix.reporting.result import RepairResult, assemble
from autofix.search import distributed, multi_output, streaming
from autofix.search.attempt import Attempt
from autofix.search.engine import (
    MAX_BUDGET,
    TIE,
    Budget,
    Search,
    Target,
    best_attempt,
    epoch_seconds,
)
from autofix.strategies import usable as usable_strategies

__all__ = ["diagnose", "diagnosis_result", "prepare", "repair", "work"]


def _quiet_numerics(fn):
    """Overflow and NaN arithmetic on a broken model's outputs is expected, and judged:
    numpy's RuntimeWarnings about it are noise to the user."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn(*args, **kwargs)

    return wrapper


@_quiet_numerics
def diagnose(model, x, y=None, *, validation_data=None, task="auto", seed=0, epochs=50,
             batch_size=32, unsafe=False, custom_objects=None) -> list[Finding]:
    """Findings for ``model`` trained on ``x``/``y``; the model is not modified."""
    result = diagnosis_result(model, x, y, validation_data=validation_data, task=task, seed=seed,
                              epochs=epochs, batch_size=batch_size, unsafe=unsafe,
                              custom_objects=custom_objects)
    return Findings(result.findings)


@_quiet_numerics
def diagnosis_result(model, x, y=None, *, validation_data=None, task="auto", seed=0, epochs=50,
                     batch_size=32, unsafe=False, custom_objects=None) -> RepairResult:
    """The whole diagnosis (nothing repaired) as a :class:`RepairResult` with no attempts;
    its ``diagnosis`` says whether the model is healthy, degenerate or has a data problem."""
    started = time.monotonic()
    model = as_model(model, unsafe, custom_objects)
    if len(model.outputs) > 1:  # each output diagnosed as a model of its own
        return multi_output.repair_each(diagnosis_result, model, x, y,
                                        validation_data=validation_data, task=task, seed=seed,
                                        epochs=epochs, batch_size=batch_size)
    problem, _ = prepare(model, x, y, validation_data=validation_data, task=task, seed=seed,
                         epochs=epochs, batch_size=batch_size)
    with deferred_interrupts():
        diagnosis = diagnose_problem(problem)
        interrupts.check()
    return assemble(problem, diagnosis, [], started, False)


@_quiet_numerics
def repair(model, x, y=None, validation_data=None, budget=None, seed=0, task="auto", strategies=None,
           *, epochs=50, batch_size=32, unsafe=False, custom_objects=None, progress=None,
           thorough=False, workdir=None) -> RepairResult:
    """Diagnose ``model``, retrain candidate repairs, and return the best proven one.

    The search (:mod:`autofix.search.engine`) goes on past the first candidate that beats the
    constant baseline until one recovers 95 % of what a reference model reaches on the same
    rows, or the budget (``budget`` seconds; by default 10x the cost of the user's own
    training, within 30 s and 3 min) runs out. The costly part of the diagnosis, a rerun of
    the user's training, is skipped when the cheap checks already explain the failure and
    their repair works (``thorough=True`` always runs it, e.g. for the HTML report's loss
    curves). ``progress``, if given, is called with events (``("diagnosis", Diagnosis)``,
    ``("attempt_start", Candidate)``, ``("epoch", (epoch, epochs, loss))``,
    ``("attempt", Attempt)``) as the repair runs.
    The model passed in is never modified.

    Under keras-tuner's distributed variables (``KERASTUNER_TUNER_ID=chief`` ...) this
    process is the chief: it diagnoses and serves the candidates to workers through the
    shared ``workdir`` (see :mod:`autofix.search.distributed`).
    """
    started = time.monotonic()

    role = distributed.checked_role(workdir)
    chief = role == "chief"
    budget = check_budget(budget)
    usable = usable_strategies(strategies)
    model = as_model(model, unsafe, custom_objects)
    if len(model.outputs) > 1:  # each output repaired as a model of its own
        if role is not None:
            raise InputError("distributed mode repairs models of one output; this one has "
                             f"{len(model.outputs)}: repair it in one process")
        return multi_output.repair_each(repair, model, x, y, validation_data=validation_data,
                                        budget=budget, seed=seed, task=task,
                                        strategies=strategies, epochs=epochs,
                                        batch_size=batch_size, progress=progress,
                                        thorough=thorough)
    problem, _ = prepare(model, x, y, validation_data=validation_data, task=task, seed=seed,
                         epochs=epochs, batch_size=batch_size)
    clock = Budget(started, None if budget is None else float(budget), given=budget is not None)
    problem.deadline = clock.deadline

    progress = default_progress(progress)
    notify = progress or (lambda *event: None)
    if progress is not None:
        problem.notify = progress
    attempts: list[Attempt] = []
    diagnosis = Diagnosis()
    interrupted = searched = False
    chosen = None  # the repair trained on a whole stream, when it is the one handed back
    with deferred_interrupts():
        try:
            notify("diagnosis_start", None)
            diagnosis = static_diagnosis(problem)
            interrupts.check()
            if thorough or chief or diagnosis.wants_rerun:
                add_rerun(problem, diagnosis)
            interrupts.check()
            diagnosis.complete = True
            rows = min(len(problem.x), PROBE_ROWS)
            clock.settle(epoch_seconds(diagnosis.rerun_log, rows, len(problem.x)), int(epochs))
            notify("diagnosis", diagnosis)
            if not diagnosis.healthy and not diagnosis.data_problem:
                searched = True
                notify("budget", clock)
                if chief:
                    distributed.serve(problem, diagnosis, usable, clock, Path(workdir), notify,
                                      attempts, forced=strategies is not None)
                elif problem.stream is not None:  # the search on the sample, then the stream
                    chosen = _search_then_stream(problem, diagnosis, usable, clock, notify,
                                                 attempts, forced=strategies is not None)
                else:
                    Search(problem, diagnosis, usable, clock, notify=notify,
                           forced=strategies is not None).run(attempts)
            interrupts.check()
        except KeyboardInterrupt:  # Interrupted at a safe point, or a second Ctrl-C
            interrupted = True
    return assemble(problem, diagnosis, attempts, started, interrupted, clock if searched else None,
                    chosen=chosen)


def _search_then_stream(problem, diagnosis, usable, clock, notify, attempts, *, forced):
    """The search on the sample with part of the budget, then its best repair trained on the
    whole stream with the rest (:mod:`autofix.search.streaming`): that model when it does at
    least as well on the held-out rows, else None (the best attempt stands)."""
    if not clock.settled:  # data this large: the default budget's ceiling
        clock.seconds = MAX_BUDGET
    search_clock = Budget(clock.started, clock.seconds * (1 - streaming.STREAM_SHARE), given=True)
    Search(problem, diagnosis, usable, search_clock, notify=notify, forced=forced).run(attempts)
    interrupts.check()
    given = diagnosis.given
    best = best_attempt(attempts, above=given.metric if diagnosis.works else None)
    if best is None:
        return None
    notify("attempt_start", best.candidate)
    streamed = streaming.refit(problem.stream, best, problem, usable, deadline=clock.deadline)
    if streamed is None:
        return None
    streamed.recovery = Target.from_reference(diagnosis.reference).recovery(streamed.metric)
    attempts.append(streamed)
    notify("attempt", streamed)
    sample_metric = streamed.params["streamed"]["sample_metric"]
    if streamed.degenerate or streamed.metric is None or streamed.metric < sample_metric - TIE:
        return None  # trained on more rows but judged worse on the same rows: the sample's stands
    return streamed


def work(model, x, y, *, workdir, validation_data=None, seed=0, task="auto", strategies=None,
         epochs=50, batch_size=32, unsafe=False) -> int:
    """A distributed worker: train the candidates the chief serves; return how many."""
    usable = usable_strategies(strategies)
    problem, _ = prepare(model, x, y, validation_data=validation_data, task=task, seed=seed,
                         epochs=epochs, batch_size=batch_size, unsafe=unsafe)
    diagnose_problem(problem)  # the findings the chief's strategies saw, for the workers' own
    return distributed.work(problem, usable, Path(workdir))
