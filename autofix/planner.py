"""Rank candidate repairs from the findings.

The first candidate answers every error finding at once (two bugs at once is common);
the next adds what the warnings suggest; then keras-tuner searches learning rate and
epochs on top of the model fixes.
"""

from __future__ import annotations

from .candidate import Candidate
from .findings import Finding, codes

TUNER = "tune_training"
TRAINING_CODES = {"learning_rate_too_high", "learning_rate_too_low", "undertrained",
                  "nonfinite_loss"}


def fired(problem, findings: list[Finding], usable: dict) -> list:
    chosen = [s for s in usable.values() if s.name != TUNER and s.applies(problem, findings)]
    if any(not s.standalone for s in chosen):
        chosen = [s for s in chosen if not s.standalone]
    return sorted(chosen, key=lambda s: (s.order, s.name))


def plan(problem, findings: list[Finding], usable: dict) -> list[Candidate]:
    """Candidates in the order to try them, without duplicates or the bare original."""
    errors = [f for f in findings if f.severity == "error"]
    primary = fired(problem, errors, usable)
    everything = fired(problem, findings, usable)
    first = Candidate.of(s.name for s in primary)
    candidates = [first, Candidate.of(s.name for s in everything)]
    model_fixes = Candidate.of(s.name for s in everything if not s.tuning)
    candidates.append(model_fixes)
    if not everything and "normalize_inputs" in usable:
        # no specific cause found: the cheapest generic repair
        candidates.append(Candidate.of(["normalize_inputs"]))
    found = codes(findings)
    hopeless = "no_signal" in found and not TRAINING_CODES & found
    if TUNER in usable and usable[TUNER].applies(problem, findings) and not hopeless:
        base = model_fixes if model_fixes.strategies else (
            Candidate.of(["normalize_inputs"]) if "normalize_inputs" in usable else Candidate())
        candidates.append(base.plus(TUNER))
    return _unique(candidates)


def _unique(candidates) -> list[Candidate]:
    seen, ordered = set(), []
    for candidate in candidates:
        if candidate.strategies and candidate not in seen:
            seen.add(candidate)
            ordered.append(candidate)
    return ordered
