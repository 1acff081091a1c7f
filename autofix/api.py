"""The Python API: :func:`diagnose` and :func:`repair`, the data path top to bottom:
load → validate → diagnose → plan → retrain → judge → report."""

from __future__ import annotations

import functools
import time
import warnings
from pathlib import Path

import numpy as np

from ._tf import keras
from . import datasets, interrupts, outputs, packing, streaming
from .attempt import Attempt
from .data import MIN_ROWS, validate_xy
from .diagnosis import PROBE_ROWS, Diagnosis, add_rerun, diagnose_problem, static_diagnosis
from .engine import MAX_BUDGET, TIE, Budget, Search, Target, best_attempt, epoch_seconds
from .errors import InputError
from .findings import SHORT_OF_REFERENCE, Finding, Findings
from .interrupts import deferred_interrupts
from .modelio import check_ids, check_model, load_model
from .problem import Problem, holdout_mode, split
from .result import RepairResult
from .script_edits import edits_for
from .training_setup import PROBABILISTIC_LOSSES, REGRESSION_LOSSES, output_units, setup_from_model
from .strategies import usable as usable_strategies
from .training import predict
from .task import infer_task

def _quiet_numerics(fn):
    """Overflow and NaN arithmetic on a broken model's outputs is expected, and judged:
    numpy's RuntimeWarnings about it are noise to the user."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn(*args, **kwargs)

    return wrapper


def _as_model(model, unsafe: bool = False, custom_objects: dict | None = None):
    k = keras()
    if isinstance(model, k.Model):
        return check_model(model)
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        notes: list[str] = []
        loaded = load_model(model, unsafe=unsafe, notes=notes, custom_objects=custom_objects)
        for note in notes:  # e.g. a Keras 2 .h5 recompiled from its training_config
            warnings.warn(f"autofix: {note}", UserWarning, stacklevel=4)
        return loaded
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


def _check_ids(model, layout, x: np.ndarray, what: str = "x") -> None:
    """Ids an Embedding of the model cannot look up: one error line, not TensorFlow's."""
    if layout is None:
        check_ids(model, [x], [what])
    else:
        check_ids(model, [x[:, s.start:s.stop] for s in layout.slots],
                  [f"{what} for input {s.name!r}" for s in layout.slots])


def prepare(model, x, y, *, validation_data=None, task="auto", seed=0, epochs=50,
            batch_size=32, unsafe=False, custom_objects=None) -> tuple[Problem, list[Finding]]:
    """Validate everything and build the :class:`Problem`; raise :class:`InputError` if unusable."""
    if epochs is None or int(epochs) < 1:
        raise InputError(f"epochs must be a positive integer, got {epochs}")
    if batch_size is None or int(batch_size) < 1:
        raise InputError(f"batch size must be a positive integer, got {batch_size}")
    model = user_model = _as_model(model, unsafe, custom_objects)
    if len(model.outputs) > 1:
        raise InputError(f"the model has {len(model.outputs)} outputs; autofix.repair and "
                         "autofix.diagnose take it one output at a time")
    layout = packing.layout_of(model) if len(model.inputs) > 1 else None
    if layout is not None:  # repaired through one packed input (see autofix.packing)
        model = packing.packed_model(user_model, layout)
    given_x = x
    sample = datasets.arrays(x, y)
    x, y, notes = sample.x, sample.y, sample.notes
    if sample.batch_rows:  # a dataset trains in its own batches (fit takes no batch_size)
        batch_size = sample.batch_rows
    if y is None:
        raise InputError("y is missing: pass the labels, or a dataset of (x, y) batches as x")
    if datasets.kind_of(validation_data) is not None:
        held = datasets.arrays(validation_data, None, name="validation_data")
        validation_data, notes = (held.x, held.y), notes + held.notes
    for note in notes:  # e.g. how many rows of a dataset were read
        warnings.warn(f"autofix: {note}", UserWarning, stacklevel=3)
    x = packing.one_array(x, user_model, layout)
    if isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
        validation_data = (packing.one_array(validation_data[0], user_model, layout,
                                             "x_val"),
                           validation_data[1])
    x, y = validate_xy(x, y)
    _check_input_fits(model, x)
    _check_ids(user_model, layout, x)
    x_val = y_val = None
    if validation_data is not None:
        x_val, y_val = validate_xy(*validation_data, names=("x_val", "y_val"))
        _check_input_fits(model, x_val)
        _check_ids(user_model, layout, x_val, "x_val")
    from .diagnosis.data_checks import finite_rows, nonfinite_data

    # rows with NaN/inf can be neither trained on nor judged: drop them (training and
    # validation rows alike), say how many (a warning), and repair on the finite rows
    early = nonfinite_data(x, y, x_val, y_val)
    if early:
        keep = finite_rows(x, y)
        x, y = x[keep], y[keep]
        if len(x) < MIN_ROWS:
            raise InputError(f"only {len(x)} row is free of NaN/inf; autofix needs at least "
                             f"{MIN_ROWS}: clean the data first")
        if x_val is not None:
            keep = finite_rows(x_val, y_val)
            x_val, y_val = x_val[keep], y_val[keep]
            if len(x_val) < 2:
                raise InputError(f"only {len(x_val)} validation rows are free of NaN/inf; "
                                 "clean the validation data first")
    units = output_units(model)
    loss = getattr(model, "loss", None)
    from .modelio import output_activation
    from .training_setup import canonical_loss

    loss_name = canonical_loss(loss)[0] if loss is not None else ""
    regression_setup = loss_name in REGRESSION_LOSSES and loss_name not in PROBABILISTIC_LOSSES
    classification_setup = loss_name in PROBABILISTIC_LOSSES and (
        units > 1 or loss_name == "sparse_categorical_crossentropy")
    task_info = infer_task(y, task, output_units=units, regression_setup=regression_setup,
                           classification_setup=classification_setup,
                           output_activation=output_activation(model)[1])
    setup = setup_from_model(model, task_info, epochs=int(epochs), batch_size=int(batch_size))
    holdout = holdout_mode(len(x), validation_given=x_val is not None)
    stream = given_x if sample.cut and streaming.streamable(given_x, x, y) else None
    if stream is not None:
        holdout = "split"
    if stream is not None and x_val is None:  # rows held out of the sample and the stream
        held = streaming.held_out(x, int(seed))
        x, x_val, y, y_val = x[~held], x[held], y[~held], y[held]
    elif holdout == "none":  # too few rows to hold any out: judged on the rows it trains on
        x_val, y_val = x, y
    elif x_val is None:
        x, x_val, y, y_val = split(x, y, task_info, seed=seed)
    problem = Problem(model=model, x=x, y=y, x_val=x_val, y_val=y_val, task=task_info,
                      setup=setup, seed=int(seed), holdout=holdout, layout=layout,
                      user_model=user_model, stream=stream,
                      stream_held_out=stream is not None and validation_data is None)
    problem.early_findings = early  # the diagnosis reports them first
    return problem, early


@_quiet_numerics
def diagnose(model, x, y=None, *, validation_data=None, task="auto", seed=0, epochs=50,
             batch_size=32) -> list[Finding]:
    """Findings for ``model`` trained on ``x``/``y``; the model is not modified."""
    result = diagnosis_result(model, x, y, validation_data=validation_data, task=task, seed=seed,
                              epochs=epochs, batch_size=batch_size)
    return Findings(result.findings)


@_quiet_numerics
def diagnosis_result(model, x, y=None, *, validation_data=None, task="auto", seed=0, epochs=50,
                     batch_size=32, unsafe=False, custom_objects=None) -> RepairResult:
    """The whole diagnosis (nothing repaired) as a :class:`RepairResult` with no attempts;
    its ``diagnosis`` says whether the model is healthy, degenerate or has a data problem."""
    started = time.monotonic()
    model = _as_model(model, unsafe, custom_objects)
    if len(model.outputs) > 1:  # each output diagnosed as a model of its own
        return outputs.repair_each(diagnosis_result, model, x, y, validation_data=validation_data,
                                   task=task, seed=seed, epochs=epochs, batch_size=batch_size)
    problem, _ = prepare(model, x, y, validation_data=validation_data, task=task, seed=seed,
                         epochs=epochs, batch_size=batch_size)
    with deferred_interrupts():
        diagnosis = diagnose_problem(problem)
        interrupts.check()
    return _result(problem, diagnosis, [], started, False)


@_quiet_numerics
def repair(model, x, y=None, validation_data=None, budget=None, seed=0, task="auto", strategies=None,
           *, epochs=50, batch_size=32, unsafe=False, custom_objects=None, progress=None,
           thorough=False, workdir=None) -> RepairResult:
    """Diagnose ``model``, retrain candidate repairs, and return the best proven one.

    The search (:mod:`autofix.engine`) goes on past the first candidate that beats the
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
    usable = usable_strategies(strategies)
    model = _as_model(model, unsafe, custom_objects)
    if len(model.outputs) > 1:  # each output repaired as a model of its own
        if role is not None:
            raise InputError("distributed mode repairs models of one output; this one has "
                             f"{len(model.outputs)}: repair it in one process")
        return outputs.repair_each(repair, model, x, y, validation_data=validation_data,
                                   budget=budget, seed=seed, task=task, strategies=strategies,
                                   epochs=epochs, batch_size=batch_size, progress=progress,
                                   thorough=thorough)
    problem, _ = prepare(model, x, y, validation_data=validation_data, task=task, seed=seed,
                         epochs=epochs, batch_size=batch_size)
    clock = Budget(started, None if budget is None else float(budget), given=budget is not None)
    problem.deadline = clock.deadline
    from .progress import default_progress

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
            # the rerun is needed to confirm a model that looks healthy, and to find a cause
            # the cheap checks did not
            if thorough or chief or not diagnosis.data_problem and (
                    not diagnosis.given.degenerate or not diagnosis.explained):
                add_rerun(problem, diagnosis)
            problem.findings = diagnosis.findings
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
    return _result(problem, diagnosis, attempts, started, interrupted, clock if searched else None,
                   chosen=chosen)


def _search_then_stream(problem, diagnosis, usable, clock, notify, attempts, *, forced):
    """The search on the sample with part of the budget, then its best repair trained on the
    whole stream with the rest (:mod:`autofix.streaming`): that model when it does at
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
    from . import distributed

    usable = usable_strategies(strategies)
    problem, _ = prepare(model, x, y, validation_data=validation_data, task=task, seed=seed,
                         epochs=epochs, batch_size=batch_size, unsafe=unsafe)
    diagnosis = diagnose_problem(problem)  # the same evidence the chief's strategies saw
    problem.findings = diagnosis.findings
    return distributed.work(problem, usable, Path(workdir))


def _result(problem, diagnosis, attempts, started, interrupted, clock=None, *,
            chosen=None) -> RepairResult:
    """Assemble what the search found into the :class:`RepairResult` (and its report);
    ``chosen``: the attempt to hand back, if not the best by metric."""
    task = problem.task
    given = diagnosis.given
    target = Target.from_reference(diagnosis.reference)
    baseline = {"constant": given.constant if given else None,
                "original": given.metric if given else None}
    if target.known:
        baseline["reference"] = target.reference
    works = diagnosis.works
    best = chosen or best_attempt(attempts, above=given.metric if works else None)
    findings, fix = list(diagnosis.findings), None
    if diagnosis.healthy and diagnosis.complete or works and best is None and attempts \
            and not interrupted:  # (a working model that no candidate beat stays as it is)
        status, model = "healthy", problem.given_model
    elif best is not None:
        status, model = "repaired", best.model
        if problem.layout is not None:  # the user's inputs again, one Normalization each
            model = packing.unpacked_model(model, problem.layout, name=problem.given_model.name)
        record = best.to_dict()
        fix = {"strategies": list(best.candidate.strategies), "params": record["params"],
               "metric": best.metric, "model_path": None, "recovery": best.recovery,
               "judged_by": best.judged_by, "compiled": record.get("compiled")}
        fix["edits"] = edits_for(problem, best, record, fixed=model)
        if best.recovery is not None and best.recovery < SHORT_OF_REFERENCE:
            findings.append(_below_reference(best, target, task.metric, len(attempts), clock))
    else:  # nothing proven: the model handed back is the user's own, unchanged
        status, model = "unrepairable", problem.given_model
    y_shown, before = problem.y_val, diagnosis.given_pred
    if best is not None and problem.holdout == "folds":  # judged out of fold on every row
        x_all, y_shown = problem.rows
        before = predict(problem.model, x_all)
    return RepairResult(
        status=status, model=model, findings=findings, attempts=attempts,
        task=task.kind, metric=task.metric, baseline=baseline, fix=fix,
        seconds=time.monotonic() - started, interrupted=interrupted, diagnosis=diagnosis,
        budget=None if clock is None else clock.seconds,
        details={"rerun": diagnosis.rerun.to_dict() if diagnosis.rerun else None,
                 "reference": diagnosis.reference, "setup": problem.setup.to_dict(),
                 "original_losses": diagnosis.rerun_log.losses if diagnosis.rerun_log else [],
                 "original_error": diagnosis.rerun_error,
                 "y_val": y_shown, "pred_before": before,
                 "pred_after": (best.val_pred if best is not None
                                else diagnosis.given_pred if status == "healthy" else None)},
    )


def _below_reference(best, target, metric: str, tried: int, clock) -> Finding:
    """The repair works but stays short of what the data allows: say so, with figures."""
    why = (f"after {tried} candidate(s)" + (f" within the {clock.seconds:g} s budget"
                                             if clock is not None and clock.seconds else ""))
    return Finding(
        "below_reference", "warning",
        f"the repair reaches {metric} {best.metric:.3f}, {best.recovery:.0%} of the gain over "
        f"the constant baseline ({target.constant:.3f}) that a quick reference model reaches "
        f"({target.reference:.3f}), {why}; a longer --budget, more epochs or a larger model "
        "may close the gap",
        {"metric": best.metric, "recovery": best.recovery, "reference": target.reference,
         "constant": target.constant, "candidates": tried,
         "budget": None if clock is None else clock.seconds})
