"""Show a report: a rich terminal summary and a small HTML table for notebooks."""

from __future__ import annotations

import math
from html import escape

import numpy as np
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from autofix.diagnosis.findings import DATA_PROBLEMS, SHORT_OF_REFERENCE, html_table
from autofix.reporting.script_edits import as_text

VERDICT = {
    "repaired": ("green", "REPAIRED"),
    "healthy": ("green", "HEALTHY"),
    "unrepairable": ("red", "UNREPAIRABLE"),
}
SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


def finite(value) -> float | None:
    """``value`` as a finite float, or None (None, NaN, inf, or not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def number(value, spec: str = ".3f") -> str:
    """A report number for people (the terminal, the HTML page): ``spec`` for a fraction,
    an integer as it is, ``-`` where the report has none (null, NaN, inf, not a number)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    finite_value = finite(value)
    return "-" if finite_value is None else format(finite_value, spec)


def by_output(report: dict) -> dict:
    """``{output name: its report}`` for a model of several outputs; ``{None: report}``
    for one output."""
    return report.get("outputs") or {None: report}


def findings_table(findings: list[dict]) -> Table:
    table = Table(title="Findings", show_lines=False, expand=False)
    table.add_column("severity")
    table.add_column("code")
    table.add_column("what autofix saw", overflow="fold")
    for f in findings:
        style = SEVERITY_STYLE.get(f["severity"], "")
        table.add_row(f"[{style}]{f['severity']}[/]", f["code"], f["message"])
    return table


def attempts_table(attempts: list[dict], metric: str) -> Table:
    table = Table(title="Attempts")
    for col in ("#", "strategies", metric, "verdict", "epochs", "seconds"):
        table.add_column(col)
    for i, a in enumerate(attempts, 1):
        verdict = {"healthy": "[green]healthy[/]", "degenerate": "[yellow]degenerate[/]",
                   "failed": "[red]failed[/]"}[a.get("outcome", "degenerate")]
        table.add_row(str(i), " + ".join(a["strategies"]) or "-", number(a["metric"]), verdict,
                      str(a["epochs"]), f"{a['seconds']:.1f}")
    return table


def verdict_line(report: dict) -> str:
    """One line that says what happened, for the terminal and the HTML page."""
    status = report["status"]
    if report.get("outputs"):  # a model of several outputs: one verdict each
        parts = [f"output {name!r} {verdict_line(sub)}" for name, sub in report["outputs"].items()]
        return f"{len(parts)} outputs, {status}: " + "; ".join(parts)
    base = report["baseline"]
    metric = report["metric"]
    tried = len(report["attempts"])
    if report.get("interrupted") and status != "repaired":
        return (f"interrupted after {tried} attempt(s), before any repair was proven; no fixed "
                "model was written")
    prefix = f"interrupted after {tried} attempt(s); the best proven repair so far: " \
        if report.get("interrupted") else ""
    if status == "repaired":
        fix = report["fix"]
        before = "no finite predictions" if base["original"] is None else number(base["original"])
        line = (f"{prefix}repaired with {' + '.join(fix['strategies'])}: {metric} "
                f"{before} -> {number(fix['metric'])} (constant baseline "
                f"{number(base['constant'])}")
        recovery = fix.get("recovery")
        if recovery is not None:
            line += f"; a reference model reaches {number(base.get('reference'))}: {recovery:.0%} of it"
        line += ")"
        if recovery is not None and recovery < SHORT_OF_REFERENCE:
            line += "; still short of what the data allows (see below_reference)"
        judged = fix.get("judged_by")
        if judged and judged != "held-out rows":
            line += f"; judged by {judged}"
        label_map = (fix.get("params") or {}).get("label_map")
        if label_map:  # the fixed model's units do not number the user's labels as they are
            line += f"; its output units read your labels through label_map {label_map}"
        return line
    if status == "healthy":
        line = (f"healthy: {metric} {number(base['original'])} beats the constant baseline "
                f"{number(base['constant'])}")
        return line + (f", and none of {tried} candidate repair(s) beat it: the model is left "
                       "as it is" if tried else "; nothing to repair")
    causes = [f["code"] for f in report["findings"] if f["severity"] == "error"]
    data = [c for c in causes if c in DATA_PROBLEMS]
    if data and not tried:  # (a degenerate model is repaired whatever the data shows)
        return f"unrepairable: the data has to be fixed, not the model ({', '.join(data)})"
    if not tried:
        return ("unrepairable: nothing was tried: no allowed strategy answers the findings"
                + (f" ({', '.join(causes)})" if causes else ""))
    line = (f"unrepairable: none of {tried} candidate(s) beat the constant baseline "
            f"{number(base['constant'])}" + (f" ({', '.join(causes)})" if causes else ""))
    if any(f["code"] == "no_signal" for f in report["findings"]):
        line += "; reference models found no signal either: y may be noise, or the wrong column"
    return line


def print_report(report: dict, console: Console | None = None) -> None:
    """The findings, each output's attempts, the verdict and the edits, for a terminal."""
    console = console or Console()
    if report["findings"]:
        console.print(findings_table(report["findings"]))
    for name, sub in by_output(report).items():
        if sub["attempts"]:  # each output's attempts under its own metric
            if name is not None:
                console.print(f"output {name!r}", style="bold", highlight=False)
            console.print(attempts_table(sub["attempts"], sub["metric"]))
    style, title = VERDICT.get(report["status"], ("", ""))
    if not console.is_terminal:
        console.print(f"[bold {style}]{verdict_line(report)}[/]", highlight=False)
    else:
        console.print(Panel(verdict_line(report), title=title, border_style=style, expand=False),
                      highlight=False)
    print_edits(report, console, "The same repair in your own script (x_train, y_train: your "
                "arrays):")


def print_edits(report: dict, console: Console, heading: str) -> None:
    """The fix as edits to the user's Keras code, under ``heading``; nothing when the report
    holds none."""
    edits = (report.get("fix") or {}).get("edits")
    if edits:
        console.print(heading, style="bold", highlight=False)
        console.print(as_text(edits), markup=False, highlight=False, soft_wrap=True)


def print_diagnosis(report: dict, console: Console | None = None) -> None:
    """``autofix diagnose`` for a terminal: the findings, then one line per output saying
    what the model reaches against the constant baseline (and a reference model)."""
    console = console or Console()
    if report["findings"]:
        console.print(findings_table(report["findings"]))
    for name, sub in by_output(report).items():
        base = sub["baseline"]
        line = (("" if name is None else f"output {name!r}: ") +
                f"{sub['diagnosis']}: {sub['metric']} {number(base['original'])} "
                f"(constant baseline {number(base['constant'])}")
        if base.get("reference") is not None:
            line += f"; a reference model reaches {number(base['reference'])}"
        console.print(line + ")", highlight=False)


def html_summary(report: dict) -> str:
    tries = "".join(
        f"<tr><td>{escape(' + '.join(a['strategies']))}</td><td>{escape(number(a['metric']))}</td>"
        f"<td>{escape(a.get('outcome', ''))}</td><td>{a['seconds']:.1f}</td></tr>"
        for a in report["attempts"])
    return (f"<div><p><b>{escape(verdict_line(report))}</b></p>"
            + html_table(report["findings"])
            + (f"<table><tr><th>strategies</th><th>{escape(report['metric'])}</th><th>verdict</th>"
               f"<th>seconds</th></tr>{tries}</table>" if tries else "") + "</div>")
