"""The outcome of a repair: status, the model to use, findings, attempts, and the report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ._version import __version__
from .findings import _plain


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
        """The report dict of the contract."""
        return _plain({
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
        from .modelio import save_model_atomic

        path = Path(path)
        save_model_atomic(self.model, path)
        for result in [self, *(self.outputs or {}).values()]:
            if result.fix is not None:
                result.fix["model_path"] = str(path)
        return path

    def _repr_html_(self) -> str:
        from .report import html_summary

        return html_summary(self.report())

    def __repr__(self) -> str:
        fix = " + ".join(self.fix["strategies"]) if self.fix else "-"
        return (f"<RepairResult status={self.status} task={self.task} fix={fix} "
                f"findings={[f.code for f in self.findings]}>")
