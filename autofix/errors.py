"""The two kinds of error autofix raises.

:class:`InputError` is the user's input being unusable (a bad file, a shape that does not
fit): the CLI prints its one line and exits with code 2. :class:`AttemptFailed` is one
candidate repair failing (it crashed, its loss went NaN, it ran out of time): the repair
records it and goes on, as keras-tuner does with a failed trial.
"""

from __future__ import annotations

from pathlib import Path


def brief(err: BaseException, limit: int = 160) -> str:
    """An exception's message on one line, at most ``limit`` characters (its type's name
    when it has none)."""
    return (" ".join(str(err).split()) or type(err).__name__)[:limit]


def error_text(err: BaseException, limit: int = 300) -> str:
    """What went wrong, in one line: TensorFlow's graph errors put the cause after the
    stack of the node that failed ("Detected at node ... File ... File ..."); that stack and
    the trailing node names are left out, so the cause itself is what the user reads."""
    lines = [line.strip() for line in str(err).splitlines()]
    frames = [i for i, line in enumerate(lines) if line.startswith('File "')]
    if frames:
        head = [line for line in lines[:frames[0]] if line and not line.startswith("Detected at node")]
        lines = head[:1] + lines[frames[-1] + 1:]
    text = " ".join(line for line in lines if line and not line.startswith("[[")).strip()
    text = text.split(" [Op:")[0]
    return f"{type(err).__name__}: {' '.join(text.split())[:limit]}"


class AutofixError(Exception):
    """Base class of autofix's own errors."""


class InputError(AutofixError, ValueError):
    """Unusable input. ``str(err)`` is one line naming the file and the problem."""

    def __init__(self, message: str, *, path: str | None = None):
        self.path = path
        text = f"{path}: {message}" if path else message
        super().__init__(" ".join(text.split()))


def existing_file(path, expected: str) -> Path:
    """``path`` as a Path if it names a non-empty file; else an :class:`InputError` saying
    what was ``expected`` there."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", path=str(path))
    if p.is_dir():
        raise InputError(f"is a directory, expected {expected}", path=str(path))
    if p.stat().st_size == 0:
        raise InputError(f"empty file, expected {expected}", path=str(path))
    return p


class AttemptFailed(AutofixError):
    """A candidate repair that could not be trained or judged."""
