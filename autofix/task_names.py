"""The task names and their one validator (no heavy imports: the CLI checks ``--task`` with
it before loading anything)."""

from __future__ import annotations

from .errors import InputError

TASKS = ("regression", "binary", "multiclass", "multilabel")
#: what ``task=`` and ``--task`` accept: a task, or ``auto`` (inferred from y)
TASK_CHOICES = ("auto",) + TASKS


def check_task(task, what: str = "task") -> str:
    """``task`` when it is one of :data:`TASK_CHOICES`; else one :class:`InputError` line."""
    if task not in TASK_CHOICES:
        raise InputError(f"unknown {what} {task!r}; expected one of {', '.join(TASK_CHOICES)}")
    return task
