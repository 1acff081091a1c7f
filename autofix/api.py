"""The Python API: :func:`diagnose` and :func:`repair`, the data path top to bottom:
load → validate → diagnose → plan → retrain → judge → report."""

from __future__ import annotations

import functools
import time
import warnings
from pathlib import Path

import numpy as np

from ._tf import keras
from . import interrupts
from .attempt import Attempt, run_attempt
from .candidate import Candidate
from .data import validate_xy
from .diagnosis import Diagnosis, add_rerun, diagnose_problem, static_diagnosis, training_checks
from .errors import InputError
from .findings import Finding, Findings
from .interrupts import deferred_interrupts
from .modelio import check_model, load_model
from .planner import follow_up, plan
from .problem import Problem, split
from .result import RepairResult
from .setup import PROBABILISTIC_LOSSES, REGRESSION_LOSSES, output_units, setup_from_model
from .strategies import registry
from .task import infer_task

MAX_ROUNDS = 3


def _quiet_numerics(fn):
    """Overflow and NaN arithmetic on a broken model's outputs is expected, and judged:
    numpy's RuntimeWarnings about it are noise to the user."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn(*args, **kwargs)

    return wrapper


def _as_model(model, unsafe: bool = False):
    k = keras()
    if isinstance(model, k.Model):
        return check_model(model)
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        return load_model(model, unsafe=unsafe)
    raise InputError(f"model must be a keras.Model or a path, got {type(model).__name__}")


def _check_input_fits(model, x: np.ndarray) -> None:
    expected = tuple(model.inputs[0].shape[1:])
    got = tuple(x.shape[1:])
    fits = len(expected) == len(got) and all(e is None or e == g for e, g in zip(expected, got))
    if not fits:
        hint = ""
        if int(np.prod(got)) == int(np.prod([e or 0 for e in expected])):
            hint = f"; reshape with x.reshape(-1, {', '.join(str(e) for e in expected)})"
        raise InputError(f"x rows have shape {got} but the model expects {expected}{hint}")


def prepare(model, x, y, *, validation_data=None, task="auto", seed=0, epochs=50,
            batch_size=32, unsafe=False) -> tuple[Problem, list[Finding]]:
    """Validate everything and build the :class:`Problem`; raise :class:`InputError` if unusable."""
    if epochs is None or int(epochs) < 1:
        raise InputError(f"epochs must be a positive integer, got {epochs}")
    if batch_size is None or int(batch_size) < 1:
        raise InputError(f"batch size must be a positive integer, got {batch_size}")
    model = _as_model(model, unsafe)
    x, y = validate_xy(x, y)
    _check_input_fits(model, x)
    x_val = y_val = None
    if validation_data is not None:
        x_val, y_val = validate_xy(*validation_data, names=("x_val", "y_val"))
        _check_input_fits(model, x_val)
    from .diagnosis.data_checks import nonfinite_data

    early = nonfinite_data(x, y)
    if early:
        keep = np.isfinite(x.reshape(len(x), -1)).all(axis=1) & np.isfinite(y.reshape(len(y), -1)).all(axis=1)
        x, y = x[keep], y[keep]
        if len(x) < 10:
            raise InputError("fewer than 10 rows are free of NaN/inf; clean the data first")
    units = output_units(model)
    loss = getattr(model, "loss", None)
    from .modelio import output_activation
    from .setup import canonical_loss

    loss_name = canonical_loss(loss)[0] if loss is not None else ""
    regression_setup = loss_name in REGRESSION_LOSSES and loss_name not in PROBABILISTIC_LOSSES
    classification_setup = loss_name in PROBABILISTIC_LOSSES and (
        units > 1 or loss_name == "sparse_categorical_crossentropy")
    task_info = infer_task(y, task, output_units=units, regression_setup=regression_setup,
                           classification_setup=classification_setup,
                           output_activation=output_activation(model)[1])
    setup = setup_from_model(model, task_info, epochs=int(epochs), batch_size=int(batch_size))
    if x_val is None:
        x, x_val, y, y_val = split(x, y, task_info, seed=seed)
    problem = Problem(model=model, x=x, y=y, x_val=x_val, y_val=y_val, task=task_info,
                      setup=setup, seed=int(seed))
    problem.notes["early_findings"] = early  # the diagnosis reports them first
    return problem, early


@_quiet_numerics
def diagnose(model, x, y, *, validation_data=None, task="auto", seed=0, epochs=50,
             batch_size=32) -> list[Finding]:
    """Findings for ``model`` trained on ``x``/``y``; the model is not modified."""
    result = diagnosis_result(model, x, y, validation_data=validation_data, task=task, seed=seed,
                              epochs=epochs, batch_size=batch_size)
    return Findings(result.findings)


@_quiet_numerics
def diagnosis_result(model, x, y, *, validation_data=None, task="auto", seed=0, epochs=50,
                     batch_size=32, unsafe=False) -> RepairResult:
    """The whole diagnosis (nothing repaired) as a :class:`RepairResult` with no attempts;
    its ``diagnosis`` says whether the model is healthy, degenerate or has a data problem."""
    started = time.monotonic()
    problem, _ = prepare(model, x, y, validation_data=validation_data, task=task, seed=seed,
                         epochs=epochs, batch_size=batch_size, unsafe=unsafe)
    with deferred_interrupts():
        diagnosis = diagnose_problem(problem)
        interrupts.check()
    return _result(problem, diagnosis, [], started, False)


def _usable_strategies(names) -> dict:
    available = registry()
    if names is None:
        return available
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    unknown = [n for n in names if n.strip() not in available]
    if unknown:
        raise InputError(f"unknown strategy {', '.join(unknown)}; known: {', '.join(available)}")
    return {n.strip(): available[n.strip()] for n in names}


@_quiet_numerics
def repair(model, x, y, validation_data=None, budget=None, seed=0, task="auto", strategies=None,
           *, epochs=50, batch_size=32, unsafe=False, progress=None,
           thorough=False, workdir=None) -> RepairResult:
    """Diagnose ``model``, retrain candidate repairs, and return the first proven one.

    The costly part of the diagnosis, a rerun of the user's training, is skipped when the
    cheap checks already explain the failure and their repair works (``thorough=True``
    always runs it, e.g. for the HTML report's loss curves). ``progress``, if given, is
    called with events (``("diagnosis", Diagnosis)``, ``("attempt_start", Candidate)``,
    ``("epoch", (epoch, epochs, loss))``, ``("attempt", Attempt)``) as the repair runs.
    The model passed in is never modified.

    Under keras-tuner's distributed variables (``KERASTUNER_TUNER_ID=chief`` ...) this
    process is the chief: it diagnoses and serves the candidates to workers through the
    shared ``workdir`` (see :mod:`autofix.distributed`).
    """
    started = time.monotonic()
    from . import distributed

    role = distributed.role()
    chief = role == "chief"
    if role is not None and workdir is None:
        raise InputError("distributed mode (KERASTUNER_* variables set) needs --workdir, a "
                         "folder every machine shares")
    if budget is not None and budget <= 0:
        raise InputError(f"budget must be a positive number of seconds, got {budget}")
    usable = _usable_strategies(strategies)
    problem, _ = prepare(model, x, y, validation_data=validation_data, task=task, seed=seed,
                         epochs=epochs, batch_size=batch_size, unsafe=unsafe)
    deadline = None if budget is None else started + float(budget)
    problem.deadline = deadline
    from .progress import default_progress

    progress = default_progress(progress)
    notify = progress or (lambda *event: None)
    if progress is not None:
        problem.notes["notify"] = progress
    attempts: list[Attempt] = []
    diagnosis = Diagnosis()
    interrupted = False
    with deferred_interrupts():
        try:
            notify("diagnosis_start", None)
            diagnosis = static_diagnosis(problem)
            interrupts.check()
            # the rerun is needed to confirm a model that looks healthy, and to find a cause
            # the cheap checks did not
            if thorough or chief or not diagnosis.data_problem and (
                    not diagnosis.given.degenerate or not diagnosis.explained):
                add_rerun(problem, diagnosis)
            problem.findings = diagnosis.findings
            interrupts.check()
            diagnosis.complete = True
            notify("diagnosis", diagnosis)
            if not diagnosis.healthy and not diagnosis.data_problem:
                if chief:
                    attempts = distributed.serve(problem, plan(problem, diagnosis.findings, usable),
                                                 usable, Path(workdir), notify)
                else:
                    _search(problem, diagnosis, usable, deadline, notify, attempts,
                            forced=strategies is not None)
            interrupts.check()
        except KeyboardInterrupt:  # Interrupted at a safe point, or a second Ctrl-C
            interrupted = True
    return _result(problem, diagnosis, attempts, started, interrupted)


def work(model, x, y, *, workdir, validation_data=None, seed=0, task="auto", strategies=None,
         epochs=50, batch_size=32, unsafe=False) -> int:
    """A distributed worker: train the candidates the chief serves; return how many."""
    from . import distributed

    usable = _usable_strategies(strategies)
    problem, _ = prepare(model, x, y, validation_data=validation_data, task=task, seed=seed,
                         epochs=epochs, batch_size=batch_size, unsafe=unsafe)
    diagnosis = diagnose_problem(problem)  # the same evidence the chief's strategies saw
    problem.findings = diagnosis.findings
    return distributed.work(problem, usable, Path(workdir))


def _time_left(deadline) -> float:
    return float("inf") if deadline is None else deadline - time.monotonic()


def _search(problem, diagnosis, usable, deadline, notify, attempts: list, *,
            forced: bool = False) -> None:
    """Try candidates in the plan's order, appending each :class:`Attempt` to ``attempts``
    (so that an interrupt keeps every one finished so far); stop at the first proven one.

    ``forced``: the user named the strategies, so when no finding calls for them they are
    tried anyway, each alone and then together."""
    queue = plan(problem, diagnosis.findings, usable)
    if forced and not queue:
        queue = [Candidate.of([name]) for name in usable] + [Candidate.of(list(usable))]
    tried = set()
    for _ in range(MAX_ROUNDS):
        while queue:
            candidate = queue.pop(0)
            if candidate in tried or not candidate.strategies:
                continue
            if _time_left(deadline) <= 0:
                return
            interrupts.check()
            tried.add(candidate)
            notify("attempt_start", candidate)
            share = None if deadline is None else time.monotonic() + 0.6 * _time_left(deadline)
            attempt = run_attempt(candidate, problem, usable, deadline=share)
            attempts.append(attempt)
            notify("attempt", attempt)
            if not attempt.degenerate:
                return
            if attempt.broken_strategy:  # drop the strategy that raised, everywhere
                broken = attempt.broken_strategy
                usable = {n: s for n, s in usable.items() if n != broken}
                queue = [c.without(broken) for c in [candidate, *queue]]
            if not diagnosis.reran:  # the cheap evidence did not suffice: gather the rest
                add_rerun(problem, diagnosis)
                problem.findings = diagnosis.findings
                notify("diagnosis", diagnosis)
                queue = [*plan(problem, diagnosis.findings, usable), *queue]
        best = _best(attempts)
        if best is None or best.log is None:
            return
        more = training_checks.nonfinite_loss(best.log) + \
            training_checks.learning_rate(best.log, problem.setup.replace(
                learning_rate=best.params.get("learning_rate", problem.setup.learning_rate))) + \
            training_checks.undertrained(best.log, best.verdict, best.fit_verdict)
        queue = follow_up(problem, best.candidate, more + diagnosis.findings, usable, tried)
        if not queue:
            return


def _best(attempts) -> Attempt | None:
    scored = [a for a in attempts if a.metric is not None]
    return max(scored, key=lambda a: a.metric) if scored else None


def _result(problem, diagnosis, attempts, started, interrupted) -> RepairResult:
    task = problem.task
    given = diagnosis.given
    baseline = {"constant": given.constant if given else None,
                "original": given.metric if given else None}
    healthy_attempt = next((a for a in attempts if not a.degenerate), None)
    fix = None
    if diagnosis.healthy and diagnosis.complete:
        status, model = "healthy", problem.model
    elif healthy_attempt is not None:
        status, model = "repaired", healthy_attempt.model
        record = healthy_attempt.to_dict()
        fix = {"strategies": list(healthy_attempt.candidate.strategies),
               "params": record["params"], "metric": healthy_attempt.metric, "model_path": None,
               "compiled": record.get("compiled")}
    else:  # nothing proven: the model handed back is the user's own, unchanged
        status, model = "unrepairable", problem.model
    return RepairResult(
        status=status, model=model, findings=diagnosis.findings, attempts=attempts,
        task=task.kind, metric=task.metric, baseline=baseline, fix=fix,
        seconds=time.monotonic() - started, interrupted=interrupted, diagnosis=diagnosis,
        details={"rerun": diagnosis.rerun.to_dict() if diagnosis.rerun else None,
                 "reference": diagnosis.reference, "setup": problem.setup.to_dict(),
                 "original_losses": diagnosis.rerun_log.losses if diagnosis.rerun_log else [],
                 "original_error": diagnosis.rerun_error,
                 "y_val": problem.y_val, "pred_before": diagnosis.given_pred,
                 "pred_after": (healthy_attempt.val_pred if healthy_attempt is not None
                                else diagnosis.given_pred if status == "healthy" else None)},
    )
