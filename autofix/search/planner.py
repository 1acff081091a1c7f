"""The targeted candidates: repairs the findings call for, in the order to try them.

The first candidate answers every error finding at once (two bugs at once is common); the
next adds what the warnings suggest; the last keeps the model fixes alone (no training
changes). The search (:mod:`autofix.search.engine`) tries them first, before its generic rounds
(a measured learning rate, the textbook rebuild, keras-tuner), which are not planned here.
"""

from __future__ import annotations

from autofix.diagnosis.findings import Finding
from autofix.search.candidate import Candidate

#: strategies the search proposes in its own rounds, never as a targeted repair
GENERIC = {"tune_training", "rebuild"}


def fired(problem, findings: list[Finding], usable: dict) -> list:
    """The usable strategies the findings call for, in their order; standalone ones only
    when nothing else fires."""
    chosen = [s for s in usable.values()
              if s.name not in GENERIC and s.applies(problem, findings)]
    if any(not s.standalone for s in chosen):
        chosen = [s for s in chosen if not s.standalone]
    return sorted(chosen, key=lambda s: (s.order, s.name))


def plan(problem, findings: list[Finding], usable: dict) -> list[Candidate]:
    """Targeted candidates in the order to try them, without duplicates or empty ones."""
    errors = [f for f in findings if f.severity == "error"]
    everything = fired(problem, findings, usable)
    candidates = [Candidate.of(s.name for s in fired(problem, errors, usable)),
                  Candidate.of(s.name for s in everything),
                  Candidate.of(s.name for s in everything if not s.tuning)]
    seen, ordered = set(), []
    for candidate in candidates:
        if candidate.strategies and candidate not in seen:
            seen.add(candidate)
            ordered.append(candidate)
    return ordered
