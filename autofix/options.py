"""The options every front door takes, and their one validator each.

No heavy imports: the CLI checks ``--task``, ``--epochs``, ``--batch-size`` and
``--budget`` with these before loading anything, and the Python API with the same
functions (``what`` names the option as the caller spelled it).
"""

from __future__ import annotations

from autofix.errors import InputError

TASKS = ("regression", "binary", "multiclass", "multilabel")
#: what ``task=`` and ``--task`` accept: a task, or ``auto`` (inferred from y)
TASK_CHOICES = ("auto",) + TASKS


def check_task(task, what: str = "task") -> str:
    """``task`` when it is one of :data:`TASK_CHOICES`; else one :class:`InputError` line."""
    if task not in TASK_CHOICES:
        raise InputError(f"unknown {what} {task!r}; expected one of {', '.join(TASK_CHOICES)}")
    return task


def check_count(value, what: str) -> int:
    """``value`` (epochs, a batch size) as a positive integer; else one error line."""
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = 0
    if count < 1:
        raise InputError(f"{what} must be a positive integer, got {value}")
    return count


def check_budget(budget, what: str = "budget") -> float | None:
    """A budget in seconds: None (autofix sizes it) or a positive number; else one line."""
    if budget is None:
        return None
    try:
        seconds = float(budget)
    except (TypeError, ValueError):
        seconds = 0.0
    if not seconds > 0:
        raise InputError(f"{what} must be a positive number of seconds, got {budget}")
    return seconds
