"""autofix: diagnose and repair Keras models that fail to learn.

    import autofix
    result = autofix.repair(model, x, y)
    result.status, result.model, result.findings, result.attempts
"""

from ._tf import _silence

_silence()  # before anything imports TensorFlow: its log lines never reach the user

from ._version import __version__  # noqa: E402
from .errors import AttemptFailed, AutofixError, InputError  # noqa: E402
from .findings import CODES, Finding  # noqa: E402
from .result import RepairResult  # noqa: E402


def diagnose(model, x, y, **kwargs):
    """Findings for ``model`` on ``x``/``y`` (see :func:`autofix.api.diagnose`)."""
    from .api import diagnose as _diagnose

    return _diagnose(model, x, y, **kwargs)


def repair(model, x, y, validation_data=None, budget=None, seed=0, task="auto", strategies=None,
           **kwargs):
    """Repair ``model`` and return a :class:`RepairResult` (see :func:`autofix.api.repair`)."""
    from .api import repair as _repair

    return _repair(model, x, y, validation_data=validation_data, budget=budget, seed=seed,
                   task=task, strategies=strategies, **kwargs)


__all__ = ["__version__", "diagnose", "repair", "Finding", "RepairResult", "CODES",
           "InputError", "AttemptFailed", "AutofixError"]
