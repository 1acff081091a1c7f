"""The two kinds of error autofix raises.

:class:`InputError` is the user's input being unusable (a bad file, a shape that does not
fit): the CLI prints its one line and exits with code 2. :class:`AttemptFailed` is one
candidate repair failing (it crashed, its loss went NaN, it ran out of time): the repair
records it and goes on, as keras-tuner does with a failed trial.
"""

from __future__ import annotations


class AutofixError(Exception):
    """Base class of autofix's own errors."""


class InputError(AutofixError, ValueError):
    """Unusable input. ``str(err)`` is one line naming the file and the problem."""

    def __init__(self, message: str, *, path: str | None = None):
        self.path = path
        text = f"{path}: {message}" if path else message
        super().__init__(" ".join(text.split()))


class AttemptFailed(AutofixError):
    """A candidate repair that could not be trained or judged."""
