"""``autofix bench``: run the documented scenarios and tabulate what autofix did.

Beside each repair it measures what the repair *recovers*: the scenario's reference (the
model its user should have built, same size, trained on autofix's own training rows) sets
what the data allows, and ``recovery = (fixed - constant) / (reference - constant)``: 1.0 is
everything a correct build reaches, 0.0 nothing beyond the constant baseline. Optionally it
also runs the textbook rebuild (the ``rebuild`` strategy alone) on the same split.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from pathlib import Path

from autofix._backend import keras
from autofix.api import prepare, repair
from autofix.bench.scenarios import check_names, make_case
from autofix.judge import judge
from autofix.search.attempt import run_attempt
from autofix.search.candidate import Candidate
from autofix.strategies import registry
from autofix.training.fit import predict

#: autofix counts as below the textbook rebuild when its metric is lower by more than this
REBUILD_MARGIN = 0.02


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def recovery(metric, constant, reference) -> float | None:
    """Share of the reference's gain over the constant baseline that ``metric`` recovers,
    floored at 0 (a model that is no better than a constant recovers nothing; a missing or
    NaN metric counts as that too). None when the reference itself does not beat the
    constant: then there is nothing to measure against."""
    if not _finite(constant) or not _finite(reference) or reference <= constant:
        return None
    if not _finite(metric):
        return 0.0
    return round(max(0.0, (metric - constant) / (reference - constant)), 4)


def split_problem(case, seed: int = 0):
    """The problem ``autofix.repair`` builds for ``case``: the same training and
    validation rows, the same task."""
    problem, _ = prepare(case.model, case.x, case.y, epochs=case.epochs,
                         batch_size=case.batch_size, seed=seed)
    return problem


def reference_run(case, problem, seed: int = 0) -> dict | None:
    """Train ``case``'s reference model on the problem's training rows (the scenario's
    epochs and batch size unless its builder says otherwise) and judge it on the
    validation rows; None for a scenario without a reference (the controls)."""
    if case.reference is None:
        return None

    keras.utils.set_random_seed(seed)
    built = case.reference(keras, problem.x, problem.y)
    model, fit_kwargs = built if isinstance(built, tuple) else (built, {})
    kwargs = {"epochs": case.epochs, "batch_size": case.batch_size,
              **{key: v for key, v in (fit_kwargs or {}).items() if v is not None}}
    started = time.monotonic()
    model.fit(problem.x, problem.y, verbose=0, **kwargs)
    seconds = time.monotonic() - started
    verdict = judge(problem.task, problem.y, problem.y_val, predict(model, problem.x_val))
    return {"metric": verdict.metric if _finite(verdict.metric) else None,
            "constant": verdict.constant, "epochs": int(kwargs["epochs"]),
            "seconds": round(seconds, 2)}


def rebuild_run(problem) -> dict:
    """The textbook rebuild (the ``rebuild`` strategy alone, no diagnosis) on the problem."""
    attempt = run_attempt(Candidate.of(["rebuild"]), problem, registry())
    return {"metric": attempt.metric, "outcome": attempt.outcome,
            "epochs": attempt.log.epochs_run if attempt.log else 0,
            "seconds": round(attempt.seconds, 2), "reason": attempt.reason}


def run_scenario(name: str, *, seed: int = 0, rows: int = 1000, budget: float | None = None,
                 case=None, reference: bool = True, rebuild: bool = False) -> dict:
    """Repair scenario ``name`` (or an already built ``case`` of it) and return its row.

    ``reference``: also train the scenario's reference model and compute the recovery;
    ``rebuild``: also run the textbook rebuild on a repairable scenario (its metric,
    recovery and seconds). Both run after the repair, which is timed alone."""
    case = case or make_case(name, seed=seed, rows=rows)
    started = time.monotonic()
    result = repair(case.model, case.x, case.y, seed=seed, epochs=case.epochs,
                    batch_size=case.batch_size, budget=budget)
    seconds = time.monotonic() - started
    report = result.report()
    codes = [f["code"] for f in report["findings"] if f["severity"] == "error"]
    expected_codes_found = all(c in [f["code"] for f in report["findings"]] for c in case.expect_codes)
    row = {
        "scenario": name,
        "status": result.status,
        "expected_status": case.expect_status,
        "passed": result.status == case.expect_status and expected_codes_found,
        "error_findings": codes,
        "expected_codes": list(case.expect_codes),
        "strategies": report["fix"]["strategies"] if report["fix"] else [],
        "metric": report["metric"],
        "constant": report["baseline"]["constant"],
        "before": report["baseline"]["original"],
        "after": report["fix"]["metric"] if report["fix"] else None,
        "attempts": len(report["attempts"]),
        "seconds": round(seconds, 2),
        "fit_seconds": round(case.train_seconds, 2),
        "ratio": round(seconds / case.train_seconds, 2) if case.train_seconds else None,
        "reference": None, "reference_seconds": None, "recovery": None,
        "rebuild_metric": None, "rebuild_recovery": None, "rebuild_seconds": None,
        "rebuild_epochs": None,
    }
    # the model the user gets: the fix, or their own model when nothing was repaired
    row["handed_back"] = row["after"] if result.status == "repaired" else row["before"]
    repairable = case.expect_status == "repaired"
    reference = reference and case.reference is not None
    if not reference and not (rebuild and repairable):
        return row
    problem = split_problem(case, seed)
    ref = reference_run(case, problem, seed) if reference or rebuild else None
    constant, best = (ref["constant"], ref["metric"]) if ref else (None, None)
    if ref is not None:
        row.update(reference=best, reference_seconds=ref["seconds"],
                   recovery=recovery(row["handed_back"], constant, best))
    if rebuild and repairable:
        built = rebuild_run(problem)
        row.update(rebuild_metric=built["metric"], rebuild_seconds=built["seconds"],
                   rebuild_epochs=built["epochs"],
                   rebuild_recovery=recovery(built["metric"], constant, best))
    return row


def recovery_summary(rows: list[dict]) -> dict:
    """Over the repairable scenarios: how many reach recovery >= 0.9, the median and the
    worst recovery, and where autofix's metric is below the textbook rebuild's by more
    than :data:`REBUILD_MARGIN`."""
    repairable = [r for r in rows if r["expected_status"] == "repaired"]
    measured = [r for r in repairable if r.get("recovery") is not None]
    values = [r["recovery"] for r in measured]
    worst = min(measured, key=lambda r: r["recovery"]) if measured else None
    compared = [r for r in repairable if r.get("rebuild_metric") is not None]
    below = [r["scenario"] for r in compared
             if (r["handed_back"] if _finite(r["handed_back"]) else -math.inf)
             < r["rebuild_metric"] - REBUILD_MARGIN]
    return {
        "repairable": len(repairable), "measured": len(measured),
        "at_least_0_9": sum(v >= 0.9 for v in values),
        "median": round(statistics.median(values), 4) if values else None,
        "worst": worst["recovery"] if worst else None,
        "worst_scenario": worst["scenario"] if worst else None,
        "below_0_9": [r["scenario"] for r in measured if r["recovery"] < 0.9],
        "compared_with_rebuild": len(compared),
        "below_rebuild": below,
    }


def summary_lines(rows: list[dict]) -> list[str]:
    """The recovery summary in words (empty when nothing was measured)."""
    s = recovery_summary(rows)
    lines = []
    if s["measured"]:
        lines.append(
            f"Recovery (fixed - constant) / (reference - constant) over the {s['measured']} "
            f"repairable scenarios with a reference: {s['at_least_0_9']} of {s['measured']} reach "
            f">= 0.9; median {s['median']:.2f}; worst {s['worst']:.2f} ({s['worst_scenario']})"
            + (f"; below 0.9: {', '.join(s['below_0_9'])}." if s["below_0_9"] else "."))
    if s["compared_with_rebuild"]:
        lines.append(
            f"autofix's metric is below the textbook rebuild's by more than {REBUILD_MARGIN} in "
            f"{len(s['below_rebuild'])} of {s['compared_with_rebuild']} repairable scenarios"
            + (f" ({', '.join(s['below_rebuild'])})." if s["below_rebuild"] else "."))
    return lines


def run(names=None, *, seed: int = 0, rows: int = 1000, on_row=None) -> list[dict]:
    names = check_names(names)
    rows_out = []
    for name in names:
        row = run_scenario(name, seed=seed, rows=rows)
        rows_out.append(row)
        if on_row:
            on_row(row)
    return rows_out


def _f(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


COLUMNS = ("scenario", "status", "findings (errors)", "strategies", "metric", "before", "after",
           "reference", "recovery", "attempts", "seconds", "fit s", "ratio", "ok")


def table_rows(rows: list[dict]) -> list[list[str]]:
    return [[r["scenario"], r["status"], ", ".join(r["error_findings"]) or "-",
             " + ".join(r["strategies"]) or "-", r["metric"], _f(r["before"]), _f(r["after"]),
             _f(r.get("reference")), _f(r.get("recovery")),
             str(r["attempts"]), f"{r['seconds']:.1f}", f"{r['fit_seconds']:.1f}", _f(r["ratio"]),
             "yes" if r["passed"] else "NO"] for r in rows]


def markdown(rows: list[dict], command: str) -> str:
    lines = [f"Command: `{command}`", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(rows)]
    ratios = [r["ratio"] for r in rows if r["ratio"] and r["expected_status"] == "repaired"]
    if ratios:
        lines += ["", f"Repair time / plain fit time over repairable scenarios: median "
                      f"{statistics.median(ratios):.2f}, worst {max(ratios):.2f}."]
    lines += summary_lines(rows)
    passed = sum(r["passed"] for r in rows)
    lines += [f"Scenarios as expected: {passed} of {len(rows)}.", ""]
    return "\n".join(lines)


def write(rows: list[dict], out: Path, command: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(rows, indent=2))
    (out / "bench.md").write_text(markdown(rows, command))
