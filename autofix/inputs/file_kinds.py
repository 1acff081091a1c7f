"""What a file holds, read from its first bytes (never by unpickling or executing it): the
CLI's checks that MODEL is a model and DATA is data, before either is loaded."""

from __future__ import annotations

import zipfile
from pathlib import Path

#: what :func:`file_kind` found, in words, for messages ("is ..., not an .npz archive")
KIND_WORDS = {
    "npz": "an .npz data archive",
    "npy": "a single NumPy array (.npy)",
    "csv": "a CSV/text file",
    "json": "a JSON/text file",
    "pickle": "a Python pickle (autofix never loads pickles: they can run code)",
    "keras": "a Keras model archive (.keras)",
    "h5model": "a Keras .h5 model",
    "hdf5": "an HDF5 file",
    "broken_hdf5": "a damaged HDF5 file",
    "zip": "a zip archive without .npy arrays",
    "parquet": "a Parquet file",
    "gzip": "a gzip-compressed file",
    "binary": "a binary file of no format autofix knows",
}
#: kinds that hold data, not a model
DATA_KINDS = {"npz", "npy", "csv", "json", "pickle", "parquet", "gzip"}
#: kinds that hold a Keras model
MODEL_KINDS = {"keras", "h5model"}
#: kinds read as a table (with ``--target``)
TABLE_KINDS = {"csv", "parquet"}

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def file_kind(path: str | Path) -> str:
    """What a file holds, from its first bytes (never by unpickling or executing it).

    One of the keys of :data:`KIND_WORDS` ("hdf5" is one without a Keras model in it), or
    ``"broken_zip"`` for a file that starts like a zip but cannot be opened as one
    (truncated), or ``"unreadable"``.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return "unreadable"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(path)
    if head.startswith(_HDF5_MAGIC):
        return _hdf5_kind(path)
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if _looks_like_text(head):
        return "json" if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[") else "csv"
    return "binary"


def _zip_kind(path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return "broken_zip"
    if "config.json" in names and ("model.weights.h5" in names or "metadata.json" in names):
        return "keras"
    if not names or any(name.endswith(".npy") for name in names):  # np.savez: x.npy, y.npy
        return "npz"
    return "zip"


def _hdf5_kind(path) -> str:
    try:
        import h5py

        with h5py.File(path, "r") as handle:
            return "h5model" if "model_config" in handle.attrs else "hdf5"
    except Exception:  # noqa: BLE001 - h5py cannot open it
        return "broken_hdf5"


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text (Excel's "Unicode text")
        return True
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as err:
        if err.start >= len(head) - 3:  # a character cut by the 4096-byte read
            return True
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return control <= len(head) // 100  # Latin-1 and other 8-bit text
