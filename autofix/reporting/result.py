"""The outcome of a repair: status, the model to use, findings, attempts, and the report;
:func:`assemble` makes it from what the diagnosis and the search found."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from autofix._version import __version__
from autofix.diagnosis.findings import SHORT_OF_REFERENCE, Finding, plain
from autofix.model import packing
from autofix.reporting.script_edits import edits_for
from autofix.reporting.terminal import html_summary
from autofix.reporting.writing import save_model_atomic
from autofix.search.engine import Target, best_attempt
from autofix.training.fit import predict


def report_json(report: dict) -> str:
    """The report as strict JSON: numbers are numbers or null, never NaN or Infinity."""
    return json.dumps(report, indent=2, allow_nan=False)


def diagnosis_report(result: "RepairResult") -> dict:
    """The report of a diagnosis alone (nothing retrained): ``status`` stays within the
    report's three values (``healthy``, or ``unrepairable`` since nothing is repaired yet)
    and ``diagnosis`` says what the model is: ``healthy``, ``data_problem``,
    ``underperforming`` or ``degenerate``."""
    report = result.report()
    diagnosis = result.diagnosis
    report["status"] = "healthy" if diagnosis.healthy else "unrepairable"
    report["diagnosis"] = ("healthy" if diagnosis.healthy else
                           "data_problem" if diagnosis.data_problem else
                           "underperforming" if diagnosis.works else "degenerate")
    if result.outputs:  # several outputs: each one's diagnosis (the top level: the first unwell)
        report["outputs"] = {name: diagnosis_report(sub) for name, sub in result.outputs.items()}
    return report


@dataclass
class RepairResult:
    status: str  # repaired | healthy | unrepairable
    model: object
    findings: list
    attempts: list
    task: str
    metric: str
    baseline: dict
    fix: dict | None = None
    seconds: float = 0.0
    interrupted: bool = False
    budget: float | None = None  # the search's time budget in seconds (default or given)
    diagnosis: object = None
    details: dict = field(default_factory=dict)
    #: a model of several outputs: each output's own result, by output name
    outputs: dict | None = None

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 0 if self.status in ("repaired", "healthy") else 1

    def report(self) -> dict:
        """The report as a dict: the JSON report of docs/report.md in the repository."""
        return plain({
            "autofix_version": __version__,
            "status": self.status,
            "task": self.task,
            "metric": self.metric,
            "baseline": self.baseline,
            "findings": [f.to_dict() for f in self.findings],
            "attempts": [a.to_dict() for a in self.attempts],
            "fix": self.fix,
            "seconds": round(self.seconds, 3),
            **({"budget": self.budget} if self.budget is not None else {}),
            **({"interrupted": True} if self.interrupted else {}),
            **({"outputs": {name: result.report() for name, result in self.outputs.items()}}
               if self.outputs else {}),
        })

    def save(self, path) -> Path:
        """Write the model (fixed, or the original when nothing was repaired) atomically."""
        path = Path(path)
        save_model_atomic(self.model, path)
        for result in [self, *(self.outputs or {}).values()]:
            if result.fix is not None:
                result.fix["model_path"] = str(path)
        return path

    def _repr_html_(self) -> str:
        return html_summary(self.report())

    def __repr__(self) -> str:
        fix = " + ".join(self.fix["strategies"]) if self.fix else "-"
        return (f"<RepairResult status={self.status} task={self.task} fix={fix} "
                f"findings={[f.code for f in self.findings]}>")


def assemble(problem, diagnosis, attempts, started, interrupted, clock=None, *,
             chosen=None) -> RepairResult:
    """What a search found, as the :class:`RepairResult` (and its report); ``chosen``: the
    attempt to hand back, if not the best by metric."""
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
