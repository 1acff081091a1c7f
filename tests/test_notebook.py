"""Results, findings and progress display well in notebooks and terminals."""

import autofix
from autofix.diagnosis.findings import Findings
from autofix.reporting.progress import Progress, default_progress


def test_findings_and_results_render_as_html(case):
    c = case("zero_init")
    findings = autofix.diagnose(c.model, c.x, c.y, epochs=c.epochs)
    assert isinstance(findings, list) and isinstance(findings, Findings)
    html = findings._repr_html_()
    assert "<table>" in html and "symmetric_init" in html
    result = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, progress=lambda *event: None)
    assert "reinitialize_weights" in result._repr_html_()
    assert "status=repaired" in repr(result)


def test_progress_events_reach_a_listener(case):
    c = case("relu_output_signed_targets")
    events = []
    autofix.repair(c.model, c.x, c.y, epochs=c.epochs, progress=lambda kind, payload: events.append(kind))
    assert events[0] == "diagnosis_start" and "diagnosis" in events
    assert "attempt_start" in events and "epoch" in events and events[-1] == "attempt"


def test_default_progress_is_quiet_outside_notebooks():
    assert default_progress(None) is None
    assert isinstance(default_progress(True), Progress)
    listener = lambda *event: None  # noqa: E731
    assert default_progress(listener) is listener
