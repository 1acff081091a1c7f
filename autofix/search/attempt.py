"""Try one candidate: build it fresh, train it on the training rows, judge it on val."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from autofix.diagnosis.findings import plain
from autofix.errors import AttemptFailed, brief, error_text
from autofix.inputs.problem import Problem
from autofix.inputs.task import class_ids
from autofix.judge import Judgement, judge
from autofix.search.candidate import Candidate, build
from autofix.training.fit import encode_targets, fit, predict
from autofix.training.train_log import TrainLog
from autofix.training.training_setup import TrainingSetup


@dataclass
class Attempt:
    candidate: Candidate
    params: dict = field(default_factory=dict)
    verdict: Judgement | None = None
    fit_verdict: Judgement | None = None  # on (a sample of) its own training rows
    log: TrainLog | None = None
    seconds: float = 0.0
    reason: str = ""
    model: object = None
    broken_strategy: str | None = None  # the strategy that raised, if one did
    val_pred: np.ndarray | None = None  # validation predictions of the trained candidate
    setup: TrainingSetup | None = None  # the training setup it was trained (and compiled) with
    recovery: float | None = None  # share of the reference's gain over the constant baseline
    judged_by: str = "held-out rows"  # or "5-fold cross-validation ...", "its training rows"
    output: str | None = None  # the output it repairs, in a model of several outputs

    @property
    def failed(self) -> bool:
        return self.verdict is None

    @property
    def degenerate(self) -> bool:
        return self.verdict is None or self.verdict.degenerate

    @property
    def metric(self) -> float | None:
        if self.verdict is None or not math.isfinite(self.verdict.metric):
            return None
        return self.verdict.metric

    def __repr__(self) -> str:
        metric = "-" if self.metric is None else f"{self.metric:.3f}"
        return (f"<Attempt {self.candidate.label()}: {self.outcome}, metric {metric}, "
                f"{self.seconds:.1f}s>")

    @property
    def outcome(self) -> str:
        if self.failed:
            return "failed"
        return "degenerate" if self.degenerate else "healthy"

    def to_dict(self) -> dict:
        return plain({
            "strategies": list(self.candidate.strategies),
            "params": self.params,
            "metric": self.metric,
            "degenerate": self.degenerate,
            "epochs": self.log.epochs_run if self.log else 0,
            "seconds": round(self.seconds, 3),
            "outcome": self.outcome,
            "reason": self.reason,
            "recovery": self.recovery,
            "judged_by": self.judged_by,
            "best_epoch": self.log.best_epoch if self.log else None,
            "losses": [v if math.isfinite(v) else None for v in (self.log.losses if self.log else [])],
            "engine": self.log.engine if self.log else None,
            **({"compiled": self.setup.compile_summary()} if self.setup is not None else {}),
            **({"output": self.output} if self.output is not None else {}),
        })


def _epoch_events(problem: Problem):
    """A function that reports ("epoch", (epoch, planned, loss)) to the repair's listener."""
    notify = problem.notify
    if notify is None:
        return None
    return lambda epoch, planned, loss: notify("epoch", (epoch, planned, loss))


def sample_weights(draft, task, y: np.ndarray) -> np.ndarray | None:
    """Per-row weights from the draft's class weights (None without class weights)."""
    weights = draft.setup.class_weight
    if not weights:
        return None
    ids = class_ids(task, y)
    return np.asarray([weights.get(int(i), 1.0) for i in ids], dtype="float32")


def _failed(candidate: Candidate, err: Exception, started: float) -> Attempt:
    attempt = Attempt(candidate, reason=error_text(err))
    attempt.broken_strategy = getattr(err, "name", None)
    attempt.seconds = time.monotonic() - started
    return attempt


def _build(candidate: Candidate, problem: Problem, registry, started: float):
    """(the candidate's draft, None), or (None, the failed attempt) when a strategy raises."""
    try:
        return build(candidate, problem, registry), None
    except Exception as err:  # noqa: BLE001 - a strategy that raises is a failed attempt
        return None, _failed(candidate, err, started)


def _share_of(problem: Problem, share: float | None) -> float | None:
    """``share`` of the time left before ``problem.deadline``, as a deadline."""
    if share is None or problem.deadline is None:
        return None
    now = time.monotonic()
    return now + share * max(problem.deadline - now, 0.0)


def run_attempt(candidate: Candidate, problem: Problem, registry, *,
                deadline: float | None = None, share: float | None = None) -> Attempt:
    """Build, train and judge ``candidate`` the way ``problem.holdout`` says; a crash or NaN
    is a failed attempt, never raised. Training stops at ``deadline``, or after ``share`` of
    the time left once the candidate is built (building may itself search, e.g. keras-tuner)."""
    if problem.holdout == "folds":
        return _run_folds(candidate, problem, registry, deadline=deadline, share=share)
    started = time.monotonic()
    draft, failed = _build(candidate, problem, registry, started)
    if failed:
        return failed
    deadline = deadline or _share_of(problem, share)
    attempt = train_and_judge(candidate, draft, problem, deadline=deadline, started=started)
    if problem.holdout == "none":
        attempt.judged_by = "its training rows (too few rows to hold any out)"
    return attempt


def candidate_targets(task, draft, y: np.ndarray) -> np.ndarray:
    return encode_targets(task, draft.setup, draft.training_targets(y), draft.output_units)


def deployed(draft, problem: Problem):
    """The trained draft as the model handed to the user (raw x in, y's units out), compiled
    with the repair's own setup so that their next ``model.fit`` works as it is, its
    optimizer built so that the saved file holds its variables and loads quietly."""
    model = draft.assemble(problem.input_shape)
    model.compile(optimizer=draft.setup.make_optimizer(), loss=draft.setup.compile_loss())
    model.optimizer.build(model.trainable_variables)
    return model


def train_and_judge(candidate: Candidate, draft, problem: Problem, *, model=None,
                    deadline: float | None = None, started: float | None = None) -> Attempt:
    """Train a built draft (``model``: its training model, if already assembled) on the
    training rows (a share of them held out to stop it, under early stopping) and judge it
    on the validation rows."""
    started = time.monotonic() if started is None else started
    attempt = Attempt(candidate)
    try:
        model = model or draft.assemble(problem.input_shape, for_training=True)
        # labels a strategy recoded (scaled class ids) are trained and judged as recoded
        task, labels = draft.task_for(problem.task), draft.labels
        rows = problem.early_stopping_split() if draft.setup.early_stopping else None
        x_fit, y_fit, held = problem.x, problem.y, None
        if rows is not None:
            x_fit, y_fit, x_stop, y_stop = rows
            held = (x_stop, candidate_targets(task, draft, y_stop))
        log = fit(model, draft.setup, x_fit, candidate_targets(task, draft, y_fit),
                  seed=problem.seed, sample_weight=sample_weights(draft, problem.task, y_fit), deadline=deadline,
                  extra_callbacks=draft.callbacks, on_epoch=_epoch_events(problem), validation=held)
        attempt.log = log
        attempt.params = {**draft.params, "learning_rate": draft.setup.learning_rate,
                          "epochs": draft.setup.epochs, "loss": draft.setup.loss}
        if draft.setup.batch_size != problem.setup.batch_size:
            attempt.params["batch_size"] = draft.setup.batch_size
        if log.stopped in ("error", "nonfinite"):
            raise AttemptFailed(log.detail)
        model = deployed(draft, problem)
        attempt.setup = draft.setup
        attempt.val_pred = predict(model, problem.x_val)
        attempt.verdict = judge(task, labels(problem.y), labels(problem.y_val), attempt.val_pred)
        sample = slice(0, 2048)
        attempt.fit_verdict = judge(task, labels(problem.y), labels(problem.y[sample]),
                                    predict(model, problem.x[sample]))
        attempt.reason = attempt.verdict.reason
        if log.stopped in ("stuck", "time"):
            attempt.reason = f"{log.detail}; {attempt.reason}"
        attempt.model = model
    except Exception as err:  # noqa: BLE001 - a failed trial, as keras-tuner records it
        attempt.verdict = None
        attempt.reason = (brief(err, 300) if isinstance(err, AttemptFailed)
                          else error_text(err))
    attempt.seconds = time.monotonic() - started
    return attempt


FOLDS = 5


def _folds(problem: Problem, y: np.ndarray):
    """Seeded (stratified, for classes) k-fold splits of every row."""

    if problem.task.kind in ("binary", "multiclass"):
        ids = class_ids(problem.task, y)
        if np.bincount(ids)[np.bincount(ids) > 0].min() >= FOLDS:
            splitter = StratifiedKFold(FOLDS, shuffle=True, random_state=problem.seed)
            return list(splitter.split(np.zeros(len(y)), ids))
    return list(KFold(FOLDS, shuffle=True, random_state=problem.seed).split(np.zeros(len(y))))


def _run_folds(candidate: Candidate, problem: Problem, registry, *,
               deadline: float | None = None, share: float | None = None) -> Attempt:
    """Too few held-out rows to prove a repair: judge the candidate's recipe by k-fold over
    every row (each row predicted by a model that never saw it; the metric and the margin
    are those of all rows pooled), then train the model handed back on every row. That
    refit runs the median of the epochs early stopping chose in the folds, with no rows
    spared to stop it: five stopping decisions on a fifth of the rows each decide its length
    better than one on the few rows a refit could spare. The folds and the refit split the
    candidate's time equally."""
    started = time.monotonic()
    x, y = problem.rows
    splits = _folds(problem, y)
    predictions, draft, stopped_at = None, None, []

    def until(fits_left: int) -> float | None:
        end = deadline or _share_of(problem, share)
        return None if end is None else time.monotonic() + max(end - time.monotonic(), 0) / fits_left

    for i, (train, test) in enumerate(splits):
        fold = problem.with_rows(x[train], y[train], x[test], y[test])
        draft, failed = _build(candidate, fold, registry, started)
        if failed:
            return failed
        trial = train_and_judge(candidate, draft, fold, deadline=until(len(splits) - i + 1))
        if trial.verdict is None or trial.val_pred is None:
            trial.seconds = time.monotonic() - started
            trial.reason = f"fold {i + 1}: {trial.reason}"
            return trial
        if predictions is None:
            predictions = np.zeros((len(y),) + trial.val_pred.shape[1:], dtype="float64")
        predictions[test] = trial.val_pred
        if draft.setup.early_stopping and trial.log.best_epoch:
            stopped_at.append(trial.log.best_epoch)
    task, labels = draft.task_for(problem.task), draft.labels(y)
    pooled = judge(task, labels, labels, predictions)
    everything = problem.with_rows(x, y, x, y)
    draft, failed = _build(candidate, everything, registry, started)
    if failed:
        return failed
    if len(stopped_at) == len(splits):
        draft.setup = draft.setup.replace(epochs=int(np.median(stopped_at)), early_stopping=False)
    final = train_and_judge(candidate, draft, everything, deadline=until(1))
    if final.verdict is None:
        final.seconds = time.monotonic() - started
        return final
    how = f"{FOLDS}-fold cross-validation"
    final.verdict = pooled
    final.reason = f"{pooled.reason} ({how} over {len(y)} rows, pooled)"
    final.judged_by = f"{how}, {len(y)} rows"
    final.val_pred = predictions
    final.seconds = time.monotonic() - started
    return final
