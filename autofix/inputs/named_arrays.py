"""Arrays named after a model's inputs or outputs.

A several-input model's ``x`` (or several-output model's ``y``) may be a dict, and a
``.npz`` holds its arrays by name: an input ``price`` is read from the key ``price`` or
``x_price`` (``x_val_price`` for validation), an output ``kind`` from ``kind`` or ``y_kind``.
"""

from __future__ import annotations

import warnings


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
