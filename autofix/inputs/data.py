"""Load and validate training data: ``.npz`` files (never unpickled), CSV/Parquet tables
(:mod:`autofix.inputs.tables`) and NumPy arrays."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autofix.errors import InputError, brief, existing_file
from autofix.inputs.file_kinds import KIND_WORDS, TABLE_KINDS, file_kind
from autofix.inputs.tables import (
    feature_list,
    listed,
    numbered,
    read_frame,
    table_arrays,
)

#: fewer rows than this cannot be trained on at all; below 30 nothing is held out (a repair
#: is judged on its training rows, and the report says so)
MIN_ROWS = 2
X_KEYS = ("x", "X", "x_train")
Y_KEYS = ("y", "Y", "y_train")
X_VAL_KEYS = ("x_val", "X_val", "x_valid")
Y_VAL_KEYS = ("y_val", "Y_val", "y_valid")


@dataclass
class Dataset:
    """Arrays as read from the user's file; validation rows are optional."""

    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    notes: list = field(default_factory=list)  # what reading it decided (a table's columns)
    features: list | None = None  # a table's feature columns, in the order of x's columns

    @property
    def validation_data(self):
        """``(x_val, y_val)`` when the file holds validation rows, else None."""
        return None if self.x_val is None else (self.x_val, self.y_val)


def _pick(arrays, keys, path, what, required=True):
    for key in keys:
        if key in arrays:
            return arrays[key]
    if required:
        found = ", ".join(sorted(arrays.files)) or "no arrays"
        raise InputError(
            f"no {what} array: expected one of {', '.join(keys)}, found {found}", path=path
        )
    return None


NPZ_HINT = 'autofix reads .npz files with arrays x and y: np.savez("data.npz", x=X, y=y)'


def not_npz_message(kind: str) -> str:
    """The message for a DATA file that is not an .npz archive (its kind from file_kind)."""
    what = KIND_WORDS.get(kind, "not a file autofix can read")
    return f"is {what}, not an .npz archive; {NPZ_HINT} (or a CSV/Parquet table with --target)"


def load_npz(path: str | Path) -> Dataset:
    """Read ``x``/``y`` (and optional ``x_val``/``y_val``) from an ``.npz`` file. For a model
    of several inputs, ``x`` is replaced by one array per input, named after it (``name`` or
    ``x_name``; validation rows ``x_val_name`` or ``name_val``): ``x`` is then that dict; for
    a model of several outputs, ``y`` by ``y_name`` (``y_val_name``) for each output.

    The file is opened with ``allow_pickle=False``: arrays of Python objects are refused
    with an :class:`InputError`, never executed. A file that is not an ``.npz`` archive (a
    CSV, a single ``.npy``, a pickle, a model...) is named for what it is.
    """
    existing_file(path, "an .npz archive with arrays x and y")
    path = str(path)
    kind = file_kind(path)
    if kind not in ("npz", "broken_zip", "unreadable"):  # np.load reports the last two
        raise InputError(not_npz_message(kind), path=path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not hasattr(loaded, "files"):  # not reached: file_kind found a zip
            raise InputError(not_npz_message("npy"), path=path)
        with loaded as arrays:
            inputs, inputs_val, targets, targets_val = _named_arrays(arrays)
            x = _pick(arrays, X_KEYS, path, "x", required=not inputs)
            y = _pick(arrays, Y_KEYS, path, "y", required=not targets)
            x_val = _pick(arrays, X_VAL_KEYS, path, "x_val", required=False)
            y_val = _pick(arrays, Y_VAL_KEYS, path, "y_val", required=False)
            if x is None:  # one array per input of the model, named after it
                x, x_val = inputs, inputs_val or None
            else:
                x, x_val = np.asarray(x), None if x_val is None else np.asarray(x_val)
            if y is None:  # one array per output of the model, y_<name>
                y, y_val = targets, targets_val or None
            else:
                y, y_val = np.asarray(y), None if y_val is None else np.asarray(y_val)
    except InputError:
        raise
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise InputError(
                "holds object arrays that need pickle, which autofix never loads; "
                "save numeric arrays (e.g. x.astype('float32'))",
                path=path,
            ) from None
        raise InputError(f"not a readable .npz archive ({brief(err)})", path=path) from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise InputError(f"not a readable .npz archive ({brief(err)})", path=path) from None
    if (x_val is None) != (y_val is None):
        raise InputError("has only one of x_val and y_val; give both or neither", path=path)
    if isinstance(x, dict) or isinstance(y, dict):  # named after the model's inputs/outputs:
        _same_rows(x, y, path)  # checked against the model's names and shapes later
        if x_val is not None:
            _same_rows(x_val, y_val, path)
        return Dataset(x, y, x_val, y_val)
    x, y = validate_xy(x, y, source=path)
    if x_val is not None:
        x_val, y_val = validate_xy(x_val, y_val, source=path, names=("x_val", "y_val"))
        _same_columns(x, y, x_val, y_val, path)
    return Dataset(x, y, x_val, y_val)


def _named_arrays(arrays) -> tuple[dict, dict, dict, dict]:
    """The arrays of a model with several inputs or outputs, named after them, when the
    archive has no ``x`` (or no ``y``): inputs ``name`` or ``x_name`` (validation rows
    ``x_val_name`` or ``name_val``), outputs ``y_name`` (``y_val_name``)."""
    inputs, inputs_val, targets, targets_val = {}, {}, {}, {}
    has_x = any(key in arrays for key in X_KEYS)
    has_y = any(key in arrays for key in Y_KEYS)
    known = set(X_KEYS) | set(Y_KEYS) | set(X_VAL_KEYS) | set(Y_VAL_KEYS)
    for key in arrays.files:
        if key in known:
            continue
        if key.startswith("y_val_"):
            targets_val[key[len("y_val_"):]] = np.asarray(arrays[key])
        elif key.startswith("y_"):
            targets[key[len("y_"):]] = np.asarray(arrays[key])
        elif key.startswith("x_val_"):
            inputs_val[key[len("x_val_"):]] = np.asarray(arrays[key])
        elif key.endswith("_val"):
            inputs_val[key[:-len("_val")]] = np.asarray(arrays[key])
        else:
            inputs[key[2:] if key.startswith("x_") else key] = np.asarray(arrays[key])
    return ({} if has_x else inputs, {} if has_x else inputs_val,
            {} if has_y else targets, {} if has_y else targets_val)


def _same_rows(x, y, path: str) -> None:
    """Named arrays (and plain ones beside them): numbers, all with as many rows."""
    parts = {**(x if isinstance(x, dict) else {"x": x}),
             **({f"y_{k}": v for k, v in y.items()} if isinstance(y, dict) else {"y": y})}
    rows = {}
    for name, array in parts.items():
        _numeric(np.asarray(array), name, path)
        rows[name] = len(array) if np.ndim(array) else 0
    if len(set(rows.values())) > 1 or 0 in rows.values():
        counts = ", ".join(f"{name} {n}" for name, n in rows.items())
        raise InputError(f"found inconsistent numbers of samples: {counts}", path=path)


def load_data(path: str | Path, *, target: str | None = None, features=None) -> Dataset:
    """The training rows in ``path``: an ``.npz`` archive (:func:`load_npz`), or a CSV/TSV or
    Parquet table whose ``target`` column is predicted from its ``features`` (default: every
    other numeric column)."""
    existing_file(path, "an .npz archive, or a CSV/Parquet table with --target")
    kind = file_kind(path)
    if kind in TABLE_KINDS:
        frame = read_frame(path, kind)
        if target is None:
            raise InputError(f"is a table ({'Parquet' if kind == 'parquet' else 'CSV'}); name "
                             f"the column to predict with --target (its columns: "
                             f"{listed(frame.columns)})", path=str(path))
        table = table_arrays(frame, target, feature_list(features), source=str(path))
        x, y = validate_xy(table.x, table.y, source=str(path))
        notes = [*table.notes, f"read {len(x)} rows: {target!r} from {len(table.features)} "
                 f"feature column(s); findings number them: feature {numbered(table.features)}"]
        return Dataset(x, y, notes=notes, features=table.features)
    if target is not None or features:
        what = "--target" if target is not None else "--features"
        raise InputError(f"{what} names a column of a CSV or Parquet table, but this file "
                         f"is {KIND_WORDS.get(kind, 'not a table')}", path=str(path))
    return load_npz(path)


def _numeric(a: np.ndarray, name: str, source: str | None) -> np.ndarray:
    if a.dtype.kind in "OUSV" or a.dtype.hasobject:
        raise InputError(
            f"{name} has dtype {a.dtype}; autofix needs numbers "
            "(encode string labels as integer class ids, e.g. with sklearn's LabelEncoder)",
            path=source,
        )
    if a.dtype.kind == "c":
        raise InputError(f"{name} holds complex numbers; autofix needs real numbers", path=source)
    if a.dtype.kind == "M" or a.dtype.kind == "m":
        raise InputError(f"{name} holds dates or times; convert them to numbers", path=source)
    return a


def validate_xy(x, y, *, source: str | None = None, names=("x", "y")):
    """Check that ``x`` and ``y`` are usable training arrays; return them as float arrays.

    NaN and inf are allowed through: they are a finding (``nonfinite_data``), not an error.
    """
    xn, yn = names
    x = _numeric(np.asarray(x), xn, source)
    y = _numeric(np.asarray(y), yn, source)
    if x.ndim == 0:
        raise InputError(f"{xn} is a 0-d scalar; expected rows of features, shape (n_samples, ...)", path=source)
    if y.ndim == 0:
        raise InputError(f"{yn} is a 0-d scalar; expected one label per row, shape (n_samples,)", path=source)
    if x.ndim == 1:
        raise InputError(
            f"{xn} is 1-D with shape {x.shape}; expected 2-D (n_samples, n_features): "
            "reshape with x.reshape(-1, 1) for a single feature",
            path=source,
        )
    if y.ndim > 2:
        raise InputError(f"{yn} has shape {y.shape}; expected a vector, a column or one-hot rows", path=source)
    if len(x) == 0 or x.size == 0:
        raise InputError(f"{xn} is empty (shape {x.shape})", path=source)
    if len(y) == 0 or y.size == 0:
        raise InputError(f"{yn} is empty (shape {y.shape})", path=source)
    if len(x) != len(y):
        raise InputError(
            f"found inconsistent numbers of samples: {xn} has {len(x)} rows, {yn} has {len(y)}",
            path=source,
        )
    if len(x) < MIN_ROWS:
        raise InputError(f"only {len(x)} row; autofix needs at least {MIN_ROWS} to train on",
                         path=source)
    if x.dtype.kind == "b":
        x = x.astype("float32")
    if y.dtype.kind == "b":
        y = y.astype("float32")
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float32: inf, a finding
        return x.astype("float32", copy=False), y.astype("float64", copy=False)


def _same_columns(x, y, x_val, y_val, path):
    if x_val.shape[1:] != x.shape[1:]:
        raise InputError(f"x_val rows have shape {x_val.shape[1:]} but x rows have {x.shape[1:]}", path=path)
    if y_val.shape[1:] != y.shape[1:]:
        raise InputError(f"y_val rows have shape {y_val.shape[1:]} but y rows have {y.shape[1:]}", path=path)
