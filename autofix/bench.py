"""``autofix bench``: run the documented scenarios and tabulate what autofix did."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from .scenarios import SCENARIOS, make_case


def run_scenario(name: str, *, seed: int = 0, rows: int = 1000, budget: float | None = None,
                 case=None) -> dict:
    """Repair scenario ``name`` (or an already built ``case`` of it) and return its row."""
    from .api import repair

    case = case or make_case(name, seed=seed, rows=rows)
    started = time.monotonic()
    result = repair(case.model, case.x, case.y, seed=seed, epochs=case.epochs,
                    batch_size=case.batch_size, budget=budget)
    seconds = time.monotonic() - started
    report = result.report()
    codes = [f["code"] for f in report["findings"] if f["severity"] == "error"]
    expected_codes_found = all(c in [f["code"] for f in report["findings"]] for c in case.expect_codes)
    return {
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
    }


def run(names=None, *, seed: int = 0, rows: int = 1000, on_row=None) -> list[dict]:
    names = list(names or SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        from .errors import InputError

        raise InputError(f"unknown scenario {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
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
           "attempts", "seconds", "fit s", "ratio", "ok")


def table_rows(rows: list[dict]) -> list[list[str]]:
    return [[r["scenario"], r["status"], ", ".join(r["error_findings"]) or "-",
             " + ".join(r["strategies"]) or "-", r["metric"], _f(r["before"]), _f(r["after"]),
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
    passed = sum(r["passed"] for r in rows)
    lines += [f"Scenarios as expected: {passed} of {len(rows)}.", ""]
    return "\n".join(lines)


def write(rows: list[dict], out: Path, command: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(rows, indent=2))
    (out / "bench.md").write_text(markdown(rows, command))
