"""Findings from a short reproduction of the user's training: the loss trajectory and the
predictions it ends with."""

from __future__ import annotations

import math

import numpy as np

from autofix.diagnosis.findings import Finding
from autofix.inputs.task import Task, class_ids
from autofix.judge import Judgement
from autofix.training.train_log import TrainLog


def _trajectory(log: TrainLog) -> list[float]:
    start = [log.initial_loss] if getattr(log, "initial_loss", None) is not None else []
    return start + list(log.losses)


def fit_error(log: TrainLog) -> list[Finding]:
    """The user's own setup cannot even train: quote Keras's error, it is their real problem."""
    if log.stopped != "error":
        return []
    return [Finding("fit_error", "error",
                    f"training the original setup fails inside model.fit: {log.detail}",
                    {"error": log.detail})]


def nonfinite_loss(log: TrainLog) -> list[Finding]:
    if log.stopped != "nonfinite":
        return []
    return [Finding("nonfinite_loss", "error",
                    f"training the original setup: {log.detail}; from there every update is "
                    "NaN and the model predicts nothing useful",
                    {"epochs_run": log.epochs_run, "losses": log.losses[-5:]})]


def _oscillates(losses: list[float]) -> bool:
    """The epoch losses go up about as much as they go down, by a large share of their
    level: no net progress. (Epoch means only; a noisy loss that falls overall, as under
    Dropout or BatchNorm, does not count, nor does a converged loss jittering at its floor.)"""
    if len(losses) < 5:
        return False
    steps = np.diff(losses)
    rises, falls = float(steps[steps > 0].sum()), float(-steps[steps < 0].sum())
    level = float(np.mean(np.abs(losses))) or 1e-12
    return (float(np.mean(steps > 0)) >= 0.4 and rises >= 0.6 * falls
            and float(np.mean(np.abs(steps))) >= 0.15 * level)


def learning_rate(log: TrainLog, setup) -> list[Finding]:
    traj = [v for v in _trajectory(log) if math.isfinite(v)]
    ratio = log.update_ratio
    found = []
    epochs = [v for v in log.losses if math.isfinite(v)]
    # the probe loss before training is measured in inference mode, which under Dropout or
    # BatchNorm sits below any training-mode epoch loss: compare epochs with epochs
    seen = epochs if len(epochs) >= 3 else traj
    rising = len(seen) >= 3 and seen[-1] > 1.5 * min(seen) and seen[-1] > seen[0]
    oscillating = _oscillates(epochs)
    if (ratio is not None and ratio > 0.03) or rising or oscillating \
            or (log.stopped == "nonfinite" and setup.learning_rate >= 1e-3):
        why = []
        if ratio is not None and ratio > 0.03:
            why.append(f"each step moved the weights by {ratio:.1%} of their size (healthy: ~0.1%)")
        if rising:
            why.append(f"the loss rose from {seen[0]:.4g} to {seen[-1]:.4g}")
        if oscillating:
            why.append("the loss oscillates from epoch to epoch")
        if log.stopped == "nonfinite":
            why.append(log.detail)
        found.append(Finding(
            "learning_rate_too_high", "error",
            f"learning rate {setup.learning_rate:g} is too high: {'; '.join(why)}",
            {"learning_rate": setup.learning_rate, "update_ratio": ratio,
             "losses": traj[:3] + traj[-3:]}))
    elif ratio is not None and 0 < ratio < 1e-5 and len(traj) >= 2 and log.stopped != "nonfinite":
        # (an update of exactly 0 is a zero gradient, whatever the learning rate: dead or
        # saturated units, frozen layers; not a rate that is too low)
        # epoch means only: the probe-batch loss before training is a noisier estimate
        seen = log.losses if len(log.losses) >= 2 else traj
        change = abs(seen[0] - seen[-1]) / max(abs(seen[0]), 1e-12)
        if change < 0.05:
            found.append(Finding(
                "learning_rate_too_low", "error",
                f"learning rate {setup.learning_rate:g} is too low: each step moved the weights "
                f"by {ratio:.1e} of their size (healthy: ~1e-3) and the loss changed only "
                f"{change:.1%} in {log.epochs_run} epochs",
                {"learning_rate": setup.learning_rate, "update_ratio": ratio,
                 "relative_loss_change": change}))
    return found


def undertrained(log: TrainLog, verdict: Judgement | None,
                 fit_verdict: Judgement | None = None) -> list[Finding]:
    """Loss still falling at a good pace when training stopped, on a model that has not
    yet learned its own training rows (one that fits them but not new rows is memorizing,
    which more epochs make worse)."""
    traj = _trajectory(log)
    if log.stopped != "completed" or len(traj) < 2 or not all(math.isfinite(v) for v in traj):
        return []
    if verdict is not None and (not verdict.degenerate or verdict.near_constant):
        return []
    if fit_verdict is not None and not fit_verdict.degenerate:
        return []
    tail = max(1, len(log.losses) // 5)
    before, after = traj[-1 - tail], traj[-1]
    drop = (before - after) / max(abs(before), 1e-12)
    total = (traj[0] - after) / max(abs(traj[0]), 1e-12)
    rate_last = (before - after) / tail
    rate_mean = (traj[0] - after) / (len(traj) - 1)
    # still falling: a real drop overall, and the last stretch keeps a good part of the
    # average pace (a run that has levelled off has rate_last near 0)
    if total < 0.02 or drop < 0.005 or rate_mean <= 0 or rate_last < 0.3 * rate_mean:
        return []
    return [Finding(
        "undertrained", "error",
        f"the loss was still falling when training stopped: down {drop:.0%} over the last "
        f"{tail} epoch(s) (from {before:.4g} to {after:.4g}) after {log.epochs_run} epochs; "
        "it needs more epochs",
        {"epochs": log.epochs_run, "last_drop": drop, "losses": traj[-4:]})]


def degenerate_predictions(given: Judgement, rerun: Judgement | None, metric: str,
                           reference: dict | None = None,
                           rerun_error: str | None = None) -> list[Finding]:
    bad = [j for j in (given, rerun) if j is not None and j.degenerate]
    if not bad:
        return []
    parts = []
    if given.degenerate:
        parts.append(f"the model as given: {given.reason}")
    if rerun is not None and rerun.degenerate:
        parts.append(f"the original setup retrained: {rerun.reason}")
    elif rerun_error:
        parts.append(f"the original setup could not be retrained: model.fit raised {rerun_error}")
    if reference and not reference.get("degenerate", True):
        parts.append(f"a quick scikit-learn model reaches {metric} {reference['metric']:.3f}, "
                     "so x does predict y: the model or its training is at fault")
    return [Finding(
        "degenerate_predictions", "error", "; ".join(parts),
        {"given": given.to_dict(),
         "retrained": rerun.to_dict() if rerun else {"error": rerun_error} if rerun_error else None,
         "reference": reference or None})]


def underperforming_weights(given: Judgement, rerun: Judgement, metric: str,
                            reference: dict) -> list[Finding]:
    """The given weights fall well short while the user's own setup, retrained from fresh
    weights, does not (see :attr:`autofix.diagnosis.diagnose.Diagnosis.weights_behind`)."""
    return [Finding(
        "underperforming_weights", "error",
        f"the model as given reaches {metric} {given.metric:.3f}, but its own setup retrained "
        f"from fresh weights reaches {rerun.metric:.3f} (a quick scikit-learn model "
        f"{reference['metric']:.3f}; constant baseline {given.constant:.3f}): the weights it "
        "came with hold it back (trained too briefly, on other data, or dragged by another "
        "output that shares its layers), not its design; train it again",
        {"given": given.to_dict(), "retrained": rerun.to_dict(), "reference": reference})]


def no_signal(reference: dict, metric: str) -> list[Finding]:
    if not reference or not reference.get("degenerate"):
        return []
    return [Finding(
        "no_signal", "warning",
        f"a gradient-boosting reference model also fails: {metric} {reference['metric']:.3f} vs "
        f"{reference['constant']:.3f} for a constant; y may carry no signal from x (noise "
        "labels, shuffled rows, or the wrong column)", reference)]


def class_imbalance(task: Task, y_train: np.ndarray, pred_ids: np.ndarray | None,
                    verdict: Judgement | None) -> list[Finding]:
    if task.kind not in ("binary", "multiclass") or pred_ids is None or verdict is None:
        return []
    ids = class_ids(task, y_train)
    counts = np.bincount(ids, minlength=task.n_classes)
    majority = int(counts.argmax())
    share = counts[majority] / counts.sum()
    on_majority = float(np.mean(pred_ids == majority))
    if share < 0.7 or on_majority < 0.95 or not verdict.degenerate:
        return []
    return [Finding(
        "class_imbalance", "error",
        f"class {majority} is {share:.0%} of the labels and the model predicts it for "
        f"{on_majority:.0%} of rows: it collapsed onto the majority class",
        {"majority_class": majority, "majority_share": share, "predicted_share": on_majority,
         "class_counts": counts})]
