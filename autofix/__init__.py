"""autofix: diagnose and repair Keras models that fail to learn.

    import autofix
    result = autofix.repair(model, x, y)
    result.status, result.model, result.findings, result.attempts

Importing the package is cheap (TensorFlow and even NumPy load on first use), so that the
``autofix`` command can take over Ctrl-C before anything slow starts.
"""

from autofix._quiet import silence

silence()  # before anything imports TensorFlow: its log lines never reach the user

from autofix._version import __version__  # noqa: E402
from autofix.errors import AttemptFailed, AutofixError, InputError  # noqa: E402

_LAZY = {"Finding": "diagnosis.findings", "CODES": "diagnosis.findings",
         "RepairResult": "reporting.result"}


def __getattr__(name):
    """``autofix.Finding``, ``autofix.CODES``, ``autofix.RepairResult``, loaded on first use."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'autofix' has no attribute {name!r}")


def diagnose(model, x, y=None, **kwargs):
    """Findings for ``model`` on ``x``/``y`` (see :func:`autofix.api.diagnose`)."""
    from autofix.api import diagnose as _diagnose

    return _diagnose(model, x, y, **kwargs)


def repair(model, x, y=None, validation_data=None, budget=None, seed=0, task="auto",
           strategies=None, **kwargs):
    """Repair ``model`` and return a :class:`RepairResult` (see :func:`autofix.api.repair`).
    ``x``, ``y`` are arrays, or ``x`` is a ``tf.data.Dataset``, a ``keras.utils.PyDataset``
    or a generator of ``(x, y)`` batches (read once, up to 100,000 rows)."""
    from autofix.api import repair as _repair

    return _repair(model, x, y, validation_data=validation_data, budget=budget, seed=seed,
                   task=task, strategies=strategies, **kwargs)


def read_table(path, target, features=None):
    """A CSV/TSV or Parquet table's ``target`` column and features as training arrays:
    ``table.x``, ``table.y`` (text labels become class ids, ``table.classes`` in their order),
    ``table.features``, ``table.notes`` (see :func:`autofix.inputs.tables.read_table`)."""
    from autofix.inputs.tables import read_table as _read_table

    return _read_table(path, target, features)


def watch(**kwargs):
    """``with autofix.watch(): model.fit(x, y, ...)``: each fit on arrays made inside is
    checked when it returns, repaired (``repair=False``: diagnosed) when it failed to learn;
    the fits and their results are in ``.fits`` (see :class:`autofix.watching.watch`)."""
    from autofix.watching import watch as _watch

    return _watch(**kwargs)


__all__ = ["__version__", "diagnose", "repair", "read_table", "watch", "Finding", "RepairResult",
           "CODES", "InputError", "AttemptFailed", "AutofixError"]
