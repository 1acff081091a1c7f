"""Read a table (CSV, TSV or Parquet) into training arrays: one target column, the features.

Read with pandas (``read_csv``, the delimiter sniffed from the first lines; ``read_parquet``
through pyarrow), never by unpickling. The features are the columns named, or by default
every other numeric column; text and categorical columns are left out and named in a note,
since a model's input needs numbers. A target of text labels ("yes"/"no", species names)
becomes class ids 0..k-1 in sorted order, and a note gives the mapping.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autofix.errors import InputError, brief, existing_file
from autofix.inputs.file_kinds import file_kind

#: how much of a text file the delimiter is sniffed from
SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
#: columns named in a message, at most
SHOWN = 12


@dataclass
class Table:
    """A table's training arrays and what reading it decided (notes for the user)."""

    x: np.ndarray
    y: np.ndarray
    features: list
    target: str
    classes: list | None = None  # the text labels, in the order of their class ids
    notes: list = field(default_factory=list)


def class_ids(classes) -> str:
    """Labels with the class ids they are read as ("cat=0, dog=1")."""
    shown = ", ".join(f"{name}={i}" for i, name in enumerate(classes[:SHOWN]))
    return shown + (" ..." if len(classes) > SHOWN else "")


def listed(columns) -> str:
    shown = ", ".join(str(c) for c in list(columns)[:SHOWN])
    more = len(columns) - SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _encoding(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError as err:
        return "utf-8-sig" if err.start >= len(head) - 3 else "latin-1"


def _read_csv(path: Path):
    import pandas as pd

    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    encoding = _encoding(head)
    text = head.decode(encoding, errors="ignore")
    try:
        delimiter = csv.Sniffer().sniff("\n".join(text.splitlines()[:20]),
                                        delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    try:
        return pd.read_csv(path, sep=delimiter, encoding=encoding)
    except pd.errors.EmptyDataError:
        raise InputError("is an empty table (no header, no rows)", path=str(path)) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise InputError(f"is not a readable CSV table ({brief(err)})", path=str(path)) from None


def _read_parquet(path: Path):
    import pandas as pd

    if importlib.util.find_spec("pyarrow") is None:  # pandas reads Parquet through it
        raise InputError("is a Parquet file; reading it needs pyarrow: "
                         "pip install 'autofix[parquet]' (or pip install pyarrow)",
                         path=str(path))
    try:
        return pd.read_parquet(path)
    except Exception as err:  # noqa: BLE001 - pyarrow's errors have no common base
        raise InputError(f"is not a readable Parquet file ({brief(err)})", path=str(path)) from None


def read_frame(path: str | Path, kind: str):
    """The table in ``path`` as a pandas DataFrame (``kind``: "csv" or "parquet", as
    :func:`autofix.inputs.data.file_kind` found it)."""
    path = Path(path)
    frame = _read_parquet(path) if kind == "parquet" else _read_csv(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _is_number(series) -> bool:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return is_numeric_dtype(series) or is_bool_dtype(series)


def _kind(series) -> str:
    from pandas.api.types import is_datetime64_any_dtype

    if is_datetime64_any_dtype(series):
        return "dates"
    return "categories" if str(series.dtype) == "category" else "text"


def table_arrays(frame, target: str, features=None, *, source: str | None = None) -> Table:
    """``frame``'s feature columns as ``x`` (float32) and its ``target`` column as ``y``."""
    columns = list(frame.columns)
    if not columns:
        raise InputError("is a table without columns", path=source)
    if target not in frame.columns:
        raise InputError(f"has no column {target!r} to use as the target (--target); its "
                         f"columns are {listed(columns)}", path=source)
    if len(frame) == 0:
        raise InputError("is a table with a header but no rows", path=source)
    notes = []
    if features:
        missing = [f for f in features if f not in frame.columns]
        if missing:
            raise InputError(f"has no column {missing[0]!r} named in the features (--features); "
                             f"its columns are {listed(columns)}", path=source)
        if target in features:
            raise InputError(f"the features (--features) name the target column {target!r}; "
                             "a model that reads its target learns nothing", path=source)
        not_numbers = [f for f in features if not _is_number(frame[f])]
        if not_numbers:
            name = not_numbers[0]
            raise InputError(f"column {name!r} holds {_kind(frame[name])}, not numbers; "
                             "encode it first (e.g. one column per category with "
                             "pandas.get_dummies) or leave it out of the features", path=source)
        chosen = list(features)
    else:
        others = [c for c in columns if c != target]
        chosen = [c for c in others if _is_number(frame[c])]
        skipped = [c for c in others if c not in chosen]
        if not chosen:
            raise InputError(f"has no numeric column besides the target {target!r} "
                             f"({listed(skipped)} hold text or categories); encode them as "
                             "numbers first", path=source)
        if skipped:
            notes.append(f"left out {len(skipped)} column(s) that are not numbers: "
                         f"{listed(skipped)} (encode them, e.g. with pandas.get_dummies, and "
                         "name them in the features, --features, to use them)")
    x = frame[chosen].to_numpy(dtype="float32", na_value=np.nan)
    labels = frame[target]
    if labels.isna().any():
        raise InputError(f"target column {target!r} has {int(labels.isna().sum())} empty "
                         "value(s); drop or fill those rows first", path=source)
    classes = None
    if _is_number(labels):
        y = labels.to_numpy(dtype="float64")
    else:
        classes = sorted(str(v) for v in labels.astype(str).unique())
        index = {name: i for i, name in enumerate(classes)}
        y = labels.astype(str).map(index).to_numpy(dtype="float64")
        notes.append(f"target {target!r} holds text labels, read as class ids: "
                     f"{class_ids(classes)}")
    return Table(x=x, y=y, features=chosen, target=target, classes=classes, notes=notes)


def feature_list(features) -> list | None:
    """``features`` as a list of column names: a list as it is, or a comma-separated string
    ("a,b,c"); None for every other numeric column."""
    if features is None:
        return None
    names = features.split(",") if isinstance(features, str) else list(features)
    names = [str(name).strip() for name in names if str(name).strip()]
    if not names:
        raise InputError("the features (--features) name no column; give column names")
    return names


def numbered(features: list) -> str:
    """The features with the positions findings call them by ("feature 0 = age, ...")."""
    shown = ", ".join(f"{i} = {name}" for i, name in enumerate(features[:SHOWN]))
    return shown + (" ..." if len(features) > SHOWN else "")


def read_table(path: str | Path, target: str, features=None) -> Table:
    """Read a CSV/TSV or Parquet file's ``target`` column and ``features`` (a list, or a
    comma-separated string; default: every other numeric or boolean column) as training
    arrays. Raises :class:`InputError` with one line naming the file and the problem."""
    existing_file(path, "a CSV or Parquet table")
    kind = file_kind(path)
    if kind not in ("csv", "parquet"):
        raise InputError("is not a CSV or Parquet table", path=str(path))
    return table_arrays(read_frame(path, kind), target, feature_list(features),
                        source=str(path))
