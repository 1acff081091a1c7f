"""Datasets, generators and image folders as arrays: a bounded sample, read once.

A ``tf.data.Dataset``, a ``keras.utils.PyDataset`` or a generator of ``(x, y)`` batches (as
``model.fit`` takes them) is read batch by batch until it ends or :data:`MAX_ROWS` rows are
in; a folder with one subfolder of images per class is read with
``keras.utils.image_dataset_from_directory`` at the model's input size. autofix then
diagnoses and searches on those rows, as on arrays, and the note says how many rows were
taken; a dataset larger than that sample which can be read again to its end then trains the
chosen repair on all its rows (:mod:`autofix.search.streaming`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autofix._backend import keras, tf
from autofix.errors import InputError, error_text
from autofix.inputs.tables import class_ids

#: rows read from a dataset or generator, at most
MAX_ROWS = 100_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}


def kind_of(data) -> str | None:
    """``"a tf.data.Dataset"``, ``"a keras.utils.PyDataset"``, ``"a generator"``, or None
    for anything else (arrays, lists)."""
    if isinstance(data, tf.data.Dataset):
        return "a tf.data.Dataset"
    if isinstance(data, keras.utils.PyDataset):
        return "a keras.utils.PyDataset"
    if inspect.isgenerator(data) or hasattr(data, "__next__"):
        return "a generator"
    return None


def rereadable(data) -> bool:
    """Whether ``data`` can be read again after a ``fit`` went through it (a generator
    cannot)."""
    return kind_of(data) in ("a tf.data.Dataset", "a keras.utils.PyDataset")


def finite(data) -> bool:
    """Whether ``data`` can be read again, to its end: a ``PyDataset`` (it has a length) or a
    ``tf.data.Dataset`` of known, finite cardinality (not ``.repeat()``-ed endlessly)."""
    kind = kind_of(data)
    if kind == "a keras.utils.PyDataset":
        return True
    if kind != "a tf.data.Dataset":
        return False
    try:
        return int(data.cardinality()) >= 0
    except Exception:  # noqa: BLE001 - a dataset that cannot say: not streamed
        return False


def batches(data):
    """``data``'s batches, as ``fit`` reads them, one pass."""
    kind = kind_of(data)
    if kind == "a tf.data.Dataset":
        return data.as_numpy_iterator()
    if kind == "a keras.utils.PyDataset":
        return (data[i] for i in range(len(data)))
    return data


def stream_arrays(data, *, max_rows: int | None = None, name: str = "the data"):
    """(x, y, note): the rows of ``data``'s ``(x, y)`` batches (a third element, sample
    weights, is left out), up to ``max_rows`` (default :data:`MAX_ROWS`)."""
    sample = read_sample(data, max_rows=max_rows, name=name)
    return sample.x, sample.y, sample.notes[0]


@dataclass
class Sample:
    """The rows read from a dataset or generator (or arrays as given): ``cut`` when it holds
    more rows than were read; ``batch_rows``: the rows of its first batch (its batch size)."""

    x: object
    y: object
    notes: list
    cut: bool = False
    batch_rows: int | None = None


def read_sample(data, *, max_rows: int | None = None, name: str = "the data",
                training: bool = True) -> Sample:
    """The :class:`Sample` of ``data`` (see :func:`stream_arrays`). ``training``: the rows
    are training rows (else validation rows: the note says so)."""
    max_rows = MAX_ROWS if max_rows is None else max_rows
    kind = kind_of(data) or "a stream"
    xs, ys, rows, count, dropped = [], [], 0, 0, False
    remaining = iter(batches(data))
    for batch in remaining:
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise InputError(f"{name} is {kind} whose elements are not (x, y) pairs; autofix "
                             "needs the labels: yield (x, y) batches")
        bx, by = _inputs(batch[0]), batch[1]
        if isinstance(by, (dict, list, tuple)):
            raise InputError(f"{name} is {kind} of named or listed outputs (a dict or a "
                             "list); autofix takes one array of y per batch")
        if len(batch) > 2 and not dropped:
            dropped = True  # sample weights: autofix weighs rows itself (class_weights)
        by = np.asarray(by)
        shapes = [a.shape for a in _parts(bx)]
        if by.ndim == 0 or any(len(s) == 0 or s[0] != len(by) for s in shapes):
            raise InputError(f"{name} is {kind} whose x and y batches differ in rows "
                             f"({', '.join(map(str, shapes))} and {by.shape}); is it batched "
                             "(.batch(32))?")
        xs.append(bx)
        ys.append(by)
        rows += len(by)
        count += 1
        if rows >= max_rows:
            break
    if not xs:
        raise InputError(f"{name} is {kind} with no batches")
    x, y = _joined(xs, max_rows), np.concatenate(ys)[:max_rows]
    cut = rows > max_rows or (rows == max_rows and next(remaining, None) is not None)
    note = f"read {len(y)} rows from {kind} ({count} batches)"
    if cut and not training:
        note += f": the first {max_rows} only; candidates are judged on those"
    elif cut:
        note += f": the first {max_rows} only, a sample the diagnosis and the search run on"
        note += ("; the repair they choose then trains on the whole dataset, batch by batch"
                 if streamable(data, x, y) else
                 " (larger data is not streamed: " + ("a generator cannot be read again"
                  if not rereadable(data) else "a dataset of several inputs is not streamed yet"
                  if isinstance(x, (dict, list)) else "its length is unknown or endless (.repeat())")
                 + ")")
    if dropped:
        note += "; its sample weights were left out"
    return Sample(x, y, [note], cut, len(ys[0]))


def _inputs(bx):
    """A batch's x as arrays: one array, or a dict/list of them (a model of several inputs)."""
    if isinstance(bx, dict):
        return {key: np.asarray(value) for key, value in bx.items()}
    if isinstance(bx, (list, tuple)):
        return [np.asarray(value) for value in bx]
    return np.asarray(bx)


def _parts(bx) -> list:
    return list(bx.values()) if isinstance(bx, dict) else bx if isinstance(bx, list) else [bx]


def _joined(xs: list, max_rows: int):
    """The batches' x joined row-wise, keeping their dict or list form."""
    first = xs[0]
    if isinstance(first, dict):
        return {key: np.concatenate([b[key] for b in xs])[:max_rows] for key in first}
    if isinstance(first, list):
        return [np.concatenate([b[i] for b in xs])[:max_rows] for i in range(len(first))]
    return np.concatenate(xs)[:max_rows]


def arrays(x, y, *, name: str = "x") -> Sample:
    """The :class:`Sample`: arrays as given, or the rows of a dataset or generator passed
    as ``x`` (with ``y`` None, as ``model.fit`` takes it); ``name``: ``x`` for training
    rows, else validation rows."""
    if kind_of(x) is None:
        return Sample(x, y, [])
    if y is not None:
        raise InputError(f"{name} is {kind_of(x)} and y was given too; a dataset holds "
                         "its own labels: pass it alone")
    return read_sample(x, name=name, training=name == "x")


def image_folder(path: str | Path, input_shape: tuple, *, max_rows: int = MAX_ROWS):
    """(x, y, notes): the images in ``path``/CLASS/*.png (...), resized to the model's
    ``input_shape`` (height, width, channels), labelled by folder in sorted order."""
    path = Path(path)
    shape = tuple(input_shape)
    if len(shape) != 3 or shape[-1] not in (1, 3, 4):
        raise InputError(f"is a folder of images, but the model's input {shape} is not an "
                         "image (height, width, 1, 3 or 4 channels)", path=str(path))
    classes = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise InputError("is a folder without two or more class subfolders; autofix reads "
                         "images as FOLDER/CLASS/image.png, one subfolder per class",
                         path=str(path))
    images = {c: [f for f in sorted((path / c).iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
              for c in classes}
    empty = [c for c in classes if not images[c]]
    if empty:
        raise InputError(f"class folder {empty[0]!r} has no images (.png, .jpg, .bmp, .gif); "
                         "every class needs some", path=str(path))
    size = shape[:2]
    if None in size:  # a model that takes any size: the first image's
        from PIL import Image

        try:
            with Image.open(images[classes[0]][0]) as first:
                size = (first.height, first.width)
        except OSError as err:
            raise InputError(f"could not read {images[classes[0]][0].name} ({err})",
                             path=str(path)) from None
    mode = {1: "grayscale", 3: "rgb", 4: "rgba"}[shape[-1]]
    try:
        dataset = keras.utils.image_dataset_from_directory(
            path, labels="inferred", label_mode="int", class_names=classes, color_mode=mode,
            image_size=size, batch_size=64, shuffle=False, verbose=False)
        x, y, note = stream_arrays(dataset, max_rows=max_rows, name=str(path))
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - an unreadable image: TensorFlow's own error
        raise InputError(f"could not read the images ({error_text(err, 160)})",
                         path=str(path)) from None

    notes = [f"read {len(x)} images of {len(classes)} classes ({class_ids(classes)}) as "
             f"{mode} at {size[0]}x{size[1]} (the model's input)"]
    if len(x) >= max_rows:  # cut at the cap: the note that says so
        notes.append(note)
    return x.astype("float32"), y, notes


# -- a stream larger than the sample: which of its rows are held out ---------------------

#: one row in this many is held out to judge candidates
HOLD_OUT_EVERY = 5


def _coefficients(width: int, seed: int) -> np.ndarray:
    return (np.arange(width, dtype="int64") * 2654435761 + 97 + 7919 * seed) % (2 ** 31)


def held_out(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """Which rows of ``x`` are held out: one in :data:`HOLD_OUT_EVERY`, by a hash of the
    row's float32 values (the same hash :func:`training_rows` computes in TensorFlow)."""
    n = len(x)
    bits = np.ascontiguousarray(x.reshape(n, -1).astype("float32")).view("int32").astype("int64")
    with np.errstate(over="ignore"):
        hashed = (bits * _coefficients(bits.shape[1], seed)).sum(axis=1)
    return hashed % HOLD_OUT_EVERY == 0


def training_rows(width: int, seed: int):
    """A ``tf.data`` filter: True for a row that trains (not held out by :func:`held_out`)."""
    coefficients = tf.constant(_coefficients(width, seed))

    def keep(x, y):
        bits = tf.bitcast(tf.reshape(tf.cast(x, tf.float32), [-1]), tf.int32)
        hashed = tf.reduce_sum(tf.cast(bits, tf.int64) * coefficients)
        return tf.math.floormod(hashed, HOLD_OUT_EVERY) != 0

    return keep


def streamable(data, x, y) -> bool:
    """Whether ``data`` (as given, holding more rows than the sample read from it) can be
    read again to its end, batch by batch: a dataset of one input array and one target
    array, of known length."""
    return finite(data) and isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
