"""Diagnosis: data checks, model checks, and a reproduction of the user's training.

:func:`diagnose_problem` returns a :class:`Diagnosis` whose findings each carry evidence.
Checks are plain functions, one per finding code, in ``data_checks``, ``model_checks``
and ``training_checks``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from autofix._backend import set_seed
from autofix.diagnosis import data_checks, model_checks, training_checks
from autofix.diagnosis.findings import DATA_PROBLEMS, Finding, codes
from autofix.inputs.problem import Problem
from autofix.judge import Judgement, judge, predicted_labels
from autofix.model.anatomy import output_units
from autofix.model.surgery import clone_keeping_frozen
from autofix.training.fit import encode_targets, fit, predict
from autofix.training.train_log import TrainLog

PROBE_ROWS = 2048


#: a model that clears the constant baseline but gains less than this share of what the
#: reference gains, while an error-level cause stands (a ReLU head on targets half of which
#: are negative tops out near half), is repaired rather than called healthy; a repair must
#: then beat it, or it is left as it is
UNDERPERFORMING = 0.75


@dataclass
class Diagnosis:
    """What the checks found. Built in two phases: :func:`static_diagnosis` (data, model,
    the given model's predictions: cheap) and :func:`add_rerun` (a reproduction of the
    user's training: the costly evidence, gathered only when it is needed)."""

    static: list = field(default_factory=list)  # findings of the cheap phase
    dynamic: list = field(default_factory=list)  # findings of the rerun
    findings: list = field(default_factory=list)  # all of them, attributed and ordered
    given: Judgement | None = None
    given_pred: np.ndarray | None = None  # the given model's validation predictions
    rerun: Judgement | None = None
    rerun_log: TrainLog | None = None
    reran: bool = False
    reference: dict = field(default_factory=dict)
    seconds: float = 0.0
    metric: str = ""
    complete: bool = False  # every phase the caller asked for has run (not interrupted)

    @property
    def rerun_error(self) -> str | None:
        """Keras's error, when the user's own setup could not be retrained."""
        log = self.rerun_log
        return log.detail if log is not None and log.stopped == "error" else None

    @property
    def data_problem(self) -> bool:
        """A finding about the data that stops the repair: the data has to be fixed, not
        the model. ``constant_target`` always does. ``target_leakage`` does only when the
        given model works (it works because of the leak): a leak makes learning easier, it
        never explains a model that learned nothing, so a degenerate model is repaired and
        the leak stays in the report as a finding."""
        blocking = {f.code for f in self.static if f.code in DATA_PROBLEMS and f.severity == "error"}
        if self.given is not None and self.given.degenerate:
            blocking.discard("target_leakage")
        return bool(blocking)

    @property
    def explained(self) -> bool:
        """Whether the cheap phase found a cause (an error beyond the symptom itself; a
        leak is not one, see :attr:`data_problem`)."""
        return any(f.severity == "error" and f.code not in ("degenerate_predictions", "target_leakage")
                   for f in self.static)

    @property
    def wants_rerun(self) -> bool:
        """Whether the cheap evidence calls for rerunning the user's training: to confirm a
        model that looks healthy, and to find a cause the cheap checks did not (a data
        problem ends the diagnosis: no model change can fix it)."""
        return not self.data_problem and (not self.given.degenerate or not self.explained)

    @property
    def underperforming(self) -> bool:
        """The given model gains less than :data:`UNDERPERFORMING` of what a quick
        scikit-learn model gains over the constant baseline."""
        ref, given = self.reference, self.given
        if not ref or ref.get("degenerate", True) or given is None:
            return False
        return given.metric - given.constant < UNDERPERFORMING * (ref["metric"] - ref["constant"])

    @property
    def works(self) -> bool:
        """The given model clears the constant baseline, and so does its setup retrained
        from scratch (a model that clears it only on rows it memorized, as on noise labels,
        does not work)."""
        return self.given is not None and not self.given.degenerate and (
            self.rerun is None or not self.rerun.degenerate)

    @property
    def weights_behind(self) -> bool:
        """The given model underperforms while its own setup, retrained from fresh weights,
        clearly beats it and gains at least :data:`UNDERPERFORMING` of what the reference
        gains: the weights it came with (too briefly trained, on other data, or dragged by
        another output sharing its layers) hold it back, not its design."""
        ref, given, rerun = self.reference, self.given, self.rerun
        if not self.underperforming or given.degenerate or rerun is None or rerun.degenerate:
            return False  # (degenerate weights are degenerate_predictions' to name)
        return (rerun.metric - given.metric > given.margin and rerun.metric - rerun.constant
                >= UNDERPERFORMING * (ref["metric"] - ref["constant"]))

    @property
    def healthy(self) -> bool:
        if self.data_problem or not self.works or self.weights_behind:
            return False
        if self.underperforming and any(f.severity == "error" for f in self.static):
            return False  # well short of the reference, with a cause in sight: worth repairing
        # (a rerun stopped as conclusive: its updates alone showed the setup cannot learn)
        return self.rerun_log is None or self.rerun_log.stopped != "conclusive"

    def refresh(self) -> None:
        """Recompute the summary findings and the order from the evidence so far."""
        summary = []
        if not any(f.code == "constant_target" for f in self.static):
            summary += training_checks.no_signal(self.reference, self.metric)
            if self.given is not None:
                summary += training_checks.degenerate_predictions(
                    self.given, self.rerun, self.metric, self.reference, self.rerun_error)
            if self.weights_behind:
                summary += training_checks.underperforming_weights(
                    self.given, self.rerun, self.metric, self.reference)
        self.findings = _ordered(_attribute(self.static + self.dynamic + summary), self.healthy)


@dataclass
class Rerun:
    """The user's setup retrained from fresh weights: its loss curve and its predictions."""

    log: TrainLog
    verdict: Judgement | None = None  # on the validation rows
    fit_verdict: Judgement | None = None  # on the rows it was trained on
    val_pred: np.ndarray | None = None


def original_targets(problem: Problem, y: np.ndarray) -> np.ndarray:
    """``y`` as the user's own training fed it to the model (only its shape adapted)."""
    return encode_targets(problem.task, problem.setup, y, output_units(problem.model))


def reproduce(problem: Problem, rows: int = PROBE_ROWS) -> Rerun:
    """Train a fresh clone of the user's model with the user's setup; judge it."""
    set_seed(problem.seed)
    model = clone_keeping_frozen(problem.model)
    x, y = problem.x[:rows], problem.y[:rows]
    log = fit(model, problem.setup, x, original_targets(problem, y), seed=problem.seed,
              deadline=problem.deadline, diagnostic=True)
    if log.stopped == "error":
        return Rerun(log)
    val_pred = predict(model, problem.x_val)
    return Rerun(log, judge(problem.task, y, problem.y_val, val_pred),
                 judge(problem.task, y, y, predict(model, x)), val_pred)


def static_diagnosis(problem: Problem) -> Diagnosis:
    """Data checks, model checks, and the given model's predictions (no training)."""
    started = time.monotonic()
    task, model = problem.task, problem.model
    y_all = np.concatenate([problem.y, problem.y_val])
    x_sample = problem.x[:4000]
    found: list[Finding] = list(problem.early_findings)
    found += data_checks.constant_target(y_all)
    constant = "constant_target" in codes(found)
    if not constant:
        found += data_checks.absent_classes(task, y_all)
        found += data_checks.target_leakage(task, problem.x, problem.y, problem.seed,
                                            problem.layout)
        found += data_checks.unscaled_targets(task, problem.y)
    found += data_checks.unscaled_inputs(model, x_sample, problem.layout)
    if not constant:  # with one label value the task is unknowable
        found += model_checks.output_activation_mismatch(model, task, problem.setup, y_all)
        found += model_checks.loss_mismatch(model, task, problem.setup)
        found += model_checks.label_encoding(model, task, problem.setup)
        found += model_checks.frozen_layers(model, problem)
        found += model_checks.narrow_bottleneck(model, problem)
        found += model_checks.heavy_dropout(model, problem)
    found += model_checks.symmetric_init(model)
    found += model_checks.dead_units(model, x_sample)
    if "symmetric_init" not in codes(found):
        try:
            y_enc = original_targets(problem, problem.y[:256])
            found += model_checks.vanishing_gradients(model, problem.setup, problem.x, y_enc,
                                                      problem.seed)
        except Exception:  # noqa: BLE001 - no evidence, no finding
            pass
    diagnosis = Diagnosis(static=found, metric=task.metric)
    diagnosis.given_pred = predict(model, problem.x_val)
    diagnosis.given = judge(task, problem.y, problem.y_val, diagnosis.given_pred)
    if not constant:
        try:
            folds = problem.holdout != "split"
            x_ref, y_ref = problem.rows if folds else (problem.x, problem.y)
            diagnosis.reference = data_checks.reference_signal(
                task, x_ref, y_ref, problem.x_val, problem.y_val, problem.seed, folds=folds)
        except Exception:  # noqa: BLE001 - evidence only
            diagnosis.reference = {}
    diagnosis.refresh()
    problem.findings = diagnosis.findings  # what strategies read: written here only
    diagnosis.seconds = time.monotonic() - started
    return diagnosis


def add_rerun(problem: Problem, diagnosis: Diagnosis) -> Diagnosis:
    """Reproduce the user's training and add what its loss curve and predictions show."""
    if diagnosis.reran or any(f.code == "constant_target" for f in diagnosis.static):
        return diagnosis
    started = time.monotonic()
    task = problem.task
    again = reproduce(problem)
    problem.rerun = again
    log, verdict = again.log, again.verdict
    diagnosis.rerun_log, diagnosis.rerun, diagnosis.reran = log, verdict, True
    found = training_checks.fit_error(log) + training_checks.nonfinite_loss(log) + \
        training_checks.learning_rate(log, problem.setup)
    if not {"symmetric_init", "learning_rate_too_low"} & codes(diagnosis.static + found):
        found += training_checks.undertrained(log, verdict, again.fit_verdict)
    pred = again.val_pred
    ids = predicted_labels(task, pred) if pred is not None and task.is_classification else None
    found += training_checks.class_imbalance(task, problem.y, ids, verdict)
    diagnosis.dynamic = found
    diagnosis.refresh()
    problem.findings = diagnosis.findings
    diagnosis.seconds += time.monotonic() - started
    return diagnosis


def diagnose_problem(problem: Problem, *, rerun: bool = True) -> Diagnosis:
    """The whole diagnosis: the cheap checks, then (``rerun``) the reproduction."""
    diagnosis = static_diagnosis(problem)
    if rerun:
        add_rerun(problem, diagnosis)
    diagnosis.complete = True
    return diagnosis


def _only_the_output(finding: Finding) -> bool:
    """A dead_units finding about the output layer alone (no dead hidden layer)."""
    hidden = finding.evidence.get("dead_fraction") or {}
    return bool(finding.evidence.get("output_stuck")) and max(hidden.values(), default=0) < 0.99


#: symptoms that a cause explains: while the cause stands they are warnings (tried second),
#: not errors (tried first). cause -> (symptom codes, why, which of those findings)
CONSEQUENCES = {
    "unscaled_inputs": ({"learning_rate_too_high", "learning_rate_too_low", "undertrained"},
                        "large inputs make large gradients", None),
    "unscaled_targets": ({"learning_rate_too_low", "undertrained"},
                         "the output layer needs many steps just to reach the targets' scale", None),
    "output_activation_mismatch": ({"dead_units"}, "an output activation that cannot produce "
                                   "the targets is pushed to its limit", _only_the_output),
}


def _attribute(found: list[Finding]) -> list[Finding]:
    """Downgrade findings that another finding's cause already explains."""
    out = list(found)
    for cause, (effects, why, which) in CONSEQUENCES.items():
        if not any(f.code == cause and f.severity == "error" for f in out):
            continue
        out = [Finding(f.code, "warning", f"{f.message} (possibly a consequence of {cause}: {why})",
                       f.evidence)
               if f.code in effects and f.severity == "error" and (which is None or which(f))
               else f for f in out]
    return out


def _ordered(found: list[Finding], healthy: bool) -> list[Finding]:
    """Errors first; on a model that works, suspected causes are downgraded to warnings."""
    if healthy:
        found = [f if f.code in DATA_PROBLEMS or f.severity != "error"
                 else Finding(f.code, "warning", f.message, f.evidence) for f in found]
    rank = {"error": 0, "warning": 1, "info": 2}
    return sorted(found, key=lambda f: rank[f.severity])
