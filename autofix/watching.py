"""Watch a user's own training: ``autofix run train.py`` and ``with autofix.watch(): ...``.

While a :class:`watch` is open, Keras' ``Model.fit`` trains exactly as the user wrote it,
with a silent :class:`~autofix.callbacks.DegenerationMonitor` added to its callbacks. When
a fit on arrays (or on a dataset that can be read again) returns, autofix checks that model
on that data, with that fit's epochs and batch size: it repairs it or, watch-only,
diagnoses it. Given an ``output_dir`` (``autofix run`` gives the script's folder), a fit
that needed a repair gets the fixed model and the report there, named after the fit; a
healthy fit writes nothing. Without one, nothing is written: the results are in
:attr:`watch.fits`. Fits autofix cannot check (a generator the fit used up) are passed
through untouched and named in :attr:`watch.fits`.

The user's model and data are never changed, and the user's code goes on after each fit
as it would have. A failure inside autofix is recorded, never raised into their code.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autofix import interrupts
from autofix._backend import keras
from autofix.api import diagnosis_result
from autofix.api import repair as repair_model
from autofix.callbacks import DegenerationMonitor, head_rows
from autofix.errors import InputError, error_text
from autofix.inputs import datasets
from autofix.options import check_budget
from autofix.reporting.result import diagnosis_report, report_json
from autofix.reporting.terminal import verdict_line
from autofix.reporting.writing import write_text_atomic

MONITOR_ROWS = 256


@dataclass
class WatchedFit:
    """One ``Model.fit`` call seen by a :class:`watch`."""

    number: int
    model_name: str
    epochs: int
    batch_size: int
    rows: int = 0
    skipped: str | None = None  # why autofix did not check it
    result: object = None  # the RepairResult (a diagnosis alone, watch-only)
    report: dict | None = None  # its report, as written
    monitor: list = field(default_factory=list)  # what the monitor saw during the user's fit
    written: list = field(default_factory=list)  # files written for it
    stale: list = field(default_factory=list)  # an earlier run's files for this fit, kept

    @property
    def status(self) -> str:
        """``skipped``, or the report's status: ``healthy``, ``repaired``, ``unrepairable``
        (watch-only: every model that is not healthy, its ``diagnosis`` says what it is)."""
        return "skipped" if self.report is None else self.report["status"]

    def line(self) -> str:
        """One line for the terminal."""
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        if self.report is None:
            return f"fit #{self.number} ({self.model_name}, {epochs}): not checked: {self.skipped}"
        head = f"fit #{self.number} ({self.model_name}, {self.rows} rows, {epochs})"
        if "diagnosis" in self.report:  # watch-only
            codes = ", ".join(f["code"] for f in self.report["findings"]
                              if f["severity"] == "error") or "none"
            text = f"{head}: {self.report['diagnosis']} (errors: {codes})"
        else:
            text = f"{head}: {verdict_line(self.report)}"
        text += "".join(f"; wrote {path}" for path in self.written)
        if self.stale:
            verb = "is" if len(self.stale) == 1 else "are"
            text += f"; {', '.join(str(p) for p in self.stale)} from an earlier run {verb} still there"
        return text


def _several(value) -> bool:
    """Whether ``value`` is a dict or list of arrays (a model's several inputs or outputs),
    not one array written as nested lists."""
    return isinstance(value, dict) or (isinstance(value, (list, tuple)) and len(value) > 0
                                       and all(hasattr(part, "shape") for part in value))


def _arrays(x, y):
    """(x, y) as NumPy arrays, or a reason why this fit's data cannot be checked."""
    if y is None:
        if not datasets.rereadable(x):
            return None, (f"its data is {datasets.kind_of(x) or 'not arrays'}, which the fit "
                          "used up; autofix checks fits on arrays, a tf.data.Dataset or a "
                          "keras.utils.PyDataset")
        try:
            x, y, _ = datasets.stream_arrays(x, name="the fit's data")
        except InputError as err:
            return None, str(err)
        return (x, y), None
    try:  # several inputs or outputs: a dict by name or a list in order, as fit takes them
        return (_as_arrays(x), _as_arrays(y)), None
    except Exception as err:  # noqa: BLE001 - an input NumPy cannot hold
        return None, f"its data cannot be read as arrays ({type(err).__name__})"


def _as_arrays(value):
    if isinstance(value, dict):
        return {key: np.asarray(part) for key, part in value.items()}
    if _several(value):
        return [np.asarray(part) for part in value]
    return np.asarray(value)


class watch:  # noqa: N801 - used as ``with autofix.watch():``, like a function
    """Check every ``Model.fit`` made inside the ``with`` block on arrays, or on a
    ``tf.data.Dataset`` or ``PyDataset`` it can read again after the fit.

    Args:
        repair: repair a fit that needs it (default), or only diagnose it.
        output_dir: where a fit that needs a repair gets its files (default: none written).
        prefix: the start of their names: ``{prefix}.fit{n}.fixed.keras``,
            ``{prefix}.fit{n}.report.json`` (an earlier run's files of these names are
            replaced).
        budget, seed: as for :func:`autofix.repair`.
        progress: a callable hearing the repair's events (see :func:`autofix.repair`).
        on_fit: called with each :class:`WatchedFit` once it has been checked.
    """

    def __init__(self, *, repair: bool = True, output_dir=None, prefix: str = "autofix",
                 budget: float | None = None, seed: int = 0, progress=None, on_fit=None):
        self.repair, self.budget, self.seed = repair, check_budget(budget), seed
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.prefix, self.progress, self.on_fit = prefix, progress, on_fit
        self.fits: list[WatchedFit] = []
        self._original = None
        self._busy = False

    # -- the patch -----------------------------------------------------------------------
    def __enter__(self) -> "watch":
        model_class = keras.Model
        self._original = model_class.fit
        signature = inspect.signature(self._original)
        original, this = self._original, self

        def fit(model, *args, **kwargs):
            if this._busy:  # autofix's own training, inside a check
                return original(model, *args, **kwargs)
            return this._watched_fit(original, signature, model, args, kwargs)

        fit.__doc__ = original.__doc__
        fit.__wrapped__ = original
        model_class.fit = fit
        return self

    def __exit__(self, *exc) -> None:
        keras.Model.fit = self._original

    # -- one fit -------------------------------------------------------------------------
    def _watched_fit(self, original, signature, model, args, kwargs):
        bound = signature.bind(model, *args, **kwargs)
        bound.apply_defaults()
        given = bound.arguments
        record = WatchedFit(number=len(self.fits) + 1, model_name=getattr(model, "name", "model"),
                            epochs=int(given.get("epochs") or 1),
                            batch_size=int(given.get("batch_size") or 32))
        self.fits.append(record)
        arrays, record.skipped = _arrays(given.get("x"), given.get("y"))
        monitor = None
        if arrays is not None:
            record.rows = len(keras.tree.flatten(arrays[1])[0])
            monitor = DegenerationMonitor(head_rows(arrays[0], MONITOR_ROWS), verbose=False)
            given["callbacks"] = [*(given.get("callbacks") or []), monitor]
        try:
            history = original(*bound.args, **bound.kwargs)
        except BaseException as err:  # the user's fit failed: their error, raised as it was
            record.skipped = f"the fit itself raised {type(err).__name__}"
            if self.on_fit is not None:
                self.on_fit(record)
            raise
        if monitor is not None:
            record.monitor = list(monitor.findings)
            self._check(record, model, arrays, given.get("validation_data"))
        if self.on_fit is not None:
            self.on_fit(record)
        if interrupts.requested():  # Ctrl-C during the check: the user's script stops too
            raise KeyboardInterrupt
        return history

    def _check(self, record: WatchedFit, model, arrays, validation) -> None:
        x, y = arrays
        if not (isinstance(validation, (tuple, list)) and len(validation) >= 2):
            validation = None  # a validation_split or a dataset: autofix holds out its own rows
        else:
            validation = (_as_arrays(validation[0]), _as_arrays(validation[1]))
        self._busy = True
        try:
            with interrupts.deferred_here():
                if self.repair:
                    record.result = repair_model(
                        model, x, y, validation_data=validation, budget=self.budget,
                        seed=self.seed, epochs=record.epochs, batch_size=record.batch_size,
                        progress=self.progress)
                    record.report = record.result.report()
                else:
                    record.result = diagnosis_result(
                        model, x, y, validation_data=validation, seed=self.seed,
                        epochs=record.epochs, batch_size=record.batch_size)
                    record.report = diagnosis_report(record.result)
                self._write(record)
        except InputError as err:
            record.skipped = str(err)
        except Exception as err:  # noqa: BLE001 - autofix's failure, not the user's script's
            record.skipped = f"autofix failed: {error_text(err, 200)}"
        finally:
            self._busy = False

    def _write(self, record: WatchedFit) -> None:
        if self.output_dir is None:
            return
        stem = self.output_dir / f"{self.prefix}.fit{record.number}"
        if record.status == "healthy":
            record.stale = [path for path in (stem.with_name(stem.name + ".fixed.keras"),
                                              stem.with_name(stem.name + ".report.json"))
                            if path.exists()]
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if record.status == "repaired":
            record.written.append(record.result.save(stem.with_name(stem.name + ".fixed.keras")))
            record.report = record.result.report()  # it names the fixed model's path now
        report = stem.with_name(stem.name + ".report.json")
        write_text_atomic(report_json(record.report), report)
        record.written.append(report)
