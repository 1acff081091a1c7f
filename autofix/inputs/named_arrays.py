"""Arrays named after a model's inputs or outputs.

A several-input model's ``x`` (or several-output model's ``y``) may be a dict, and a
``.npz`` holds its arrays by name: an input ``price`` is read from the key ``price`` or
``x_price`` (``x_val_price`` for validation), an output ``kind`` from ``kind`` or ``y_kind``.
"""

from __future__ import annotations

import warnings

import numpy as np

from autofix.errors import InputError


def keys(name: str, what: str) -> tuple[str, str]:
    """The keys an array for input or output ``name`` may have in ``what`` (``x``, ``y``,
    ``x_val``...)."""
    return name, f"{what}_{name}"


def key_of(arrays: dict, name: str, what: str, *also: str) -> str | None:
    """The key of ``arrays`` holding ``name``'s array (``name``, then ``also``, then
    ``<what>_<name>``), or None."""
    first, prefixed = keys(name, what)
    return next((key for key in (first, *also, prefixed) if key in arrays), None)


def unread(arrays: dict, names, what: str) -> list[str]:
    """The keys of ``arrays`` that name none of ``names``."""
    wanted = {key for name in names for key in keys(name, what)}
    return [key for key in arrays if key not in wanted]


def warn_unread(arrays: dict, names, what: str, nobody: str) -> None:
    """A warning naming the arrays of ``arrays`` that ``nobody`` (``no input of the model
    reads``...) and that are left out."""
    if left := unread(arrays, names, what):
        warnings.warn(f"autofix: {what} arrays that {nobody} were left out: {', '.join(left)}",
                      UserWarning, stacklevel=4)


def output_names(model) -> list[str]:
    """The model's output names, in order (the names its ``fit`` takes targets by)."""
    return list(model.output_names)


def output_arrays(model, y, what: str = "y") -> list[np.ndarray]:
    """``y`` as one array per output, in order: a dict by output name (or ``y_<name>``),
    or a list/tuple in the model's output order."""
    names = output_names(model)
    if isinstance(y, dict):
        warn_unread(y, names, what, "no output of the model gives")
        found = {name: key_of(y, name, what) for name in names}
        if missing := [name for name, key in found.items() if key is None]:
            raise InputError(f"{what} has no array for the model's output {missing[0]!r} (it "
                             f"holds {', '.join(map(repr, y)) or 'nothing'}; the model's outputs: "
                             f"{', '.join(map(repr, names))})")
        return [np.asarray(y[found[name]]) for name in names]
    if isinstance(y, (list, tuple)) and len(y) and all(hasattr(a, "shape") for a in y):
        if isinstance(model.output, dict):
            raise InputError(f"the model's outputs are a dict ({', '.join(map(repr, names))}); "
                             f"give {what} as a dict by output name (a list would be read in "
                             "that order, which is not necessarily yours)")
        if len(y) != len(names):
            raise InputError(f"{what} holds {len(y)} arrays but the model has {len(names)} "
                             f"outputs ({', '.join(map(repr, names))})")
        return [np.asarray(a) for a in y]
    raise InputError(f"the model has {len(names)} outputs ({', '.join(map(repr, names))}); give "
                     f"{what} as a dict of arrays by output name (in a .npz: y_<name>)")


def unread_targets(model, y: dict, what: str = "y") -> list[str]:
    """The keys of ``y`` that name no output of the model."""
    return unread(y, output_names(model), what)
