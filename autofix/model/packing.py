"""A model with several inputs, repaired as a model with one: its inputs side by side.

autofix diagnoses and repairs models that read one array. A Functional model with several
inputs (a numeric branch and an Embedding branch, two feature groups...) is repaired
through a packed view of it: one input holding every input's values, flattened and side by
side, cut back into the model's own inputs by built-in layers (``Reshape`` and
``Cropping1D``) in front of the model's own layers (the same layer objects, called again).
Every check and strategy then sees one array, column by column; :class:`InputLayout` says
which columns belong to which input, and which are ids or already scaled by the model
(never standardized).

The model handed back takes the user's inputs again (:func:`unpacked_model`): a
``Normalization`` the repair put in front of the packed input becomes one per input (with
that input's columns of its mean and variance), and the cutting layers are gone.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from autofix._backend import keras
from autofix.errors import InputError
from autofix.inputs import named_arrays
from autofix.model.anatomy import ID_LAYERS, SCALING_LAYERS, first_readers
from autofix.model.surgery import compiled_like

#: the name of the packed input, and the prefix of the layers that cut it back
PACKED_INPUT = "autofix_packed_inputs"
CUT_PREFIX = "autofix_input_"


@dataclass(frozen=True)
class Slot:
    """One input of the model: its name, row shape and dtype, its columns ``start:stop``
    in the packed array, and whether the model reads it ``raw`` (ids for an Embedding, or
    values its own first layer scales): such columns are never standardized."""

    name: str
    shape: tuple
    dtype: str
    start: int
    stop: int
    raw: bool


@dataclass(frozen=True)
class InputLayout:
    """Where each input of a several-input model lies in the packed array."""

    slots: tuple
    keyed: bool  # the model was built on a dict of inputs (else a list)

    @property
    def width(self) -> int:
        return self.slots[-1].stop

    @property
    def names(self) -> list[str]:
        return [slot.name for slot in self.slots]

    @property
    def scaled_columns(self) -> np.ndarray:
        """A mask of the packed columns standardizing may touch (not ids, not inputs the
        model scales itself)."""
        mask = np.ones(self.width, dtype=bool)
        for slot in self.slots:
            if slot.raw:
                mask[slot.start:slot.stop] = False
        return mask

    def column_name(self, column: int) -> str:
        """``input 'price' feature 2``: a packed column named by its input."""
        for slot in self.slots:
            if slot.start <= column < slot.stop:
                inner = column - slot.start
                if slot.stop - slot.start == 1:
                    return f"input {slot.name!r}"
                return f"input {slot.name!r} feature {inner}"
        return f"feature {column}"

    def arrays(self, x, what: str = "x") -> list[np.ndarray]:
        """``x`` (a dict by input name, or a list/tuple in the model's input order) as one
        array per input, in order, each checked against its input's shape."""
        if isinstance(x, dict):
            named_arrays.warn_unread(x, self.names, what, "no input of the model reads")
            by_name = {}
            for slot in self.slots:
                key = named_arrays.key_of(x, slot.name, what)
                if key is None:
                    raise InputError(f"{what} has no array for the model's input {slot.name!r} "
                                     f"(it holds {', '.join(map(repr, x)) or 'nothing'}; the "
                                     f"model's inputs: {', '.join(map(repr, self.names))})")
                by_name[slot.name] = x[key]
            given = [by_name[name] for name in self.names]
        elif isinstance(x, (list, tuple)):
            if self.keyed:
                raise InputError(f"the model was built on a dict of inputs "
                                 f"({', '.join(map(repr, self.names))}); give {what} as a dict by "
                                 "input name (a list would be read in that order, which is not "
                                 "necessarily yours)")
            if len(x) != len(self.slots):
                raise InputError(f"{what} holds {len(x)} arrays but the model has "
                                 f"{len(self.slots)} inputs ({', '.join(map(repr, self.names))})")
            given = list(x)
        else:
            raise InputError(f"the model has {len(self.slots)} inputs "
                             f"({', '.join(map(repr, self.names))}); give {what} as a dict of "
                             "arrays by input name (in a .npz: one array per input name)")
        out = []
        for slot, array in zip(self.slots, given):
            array = np.asarray(array)
            if array.dtype.kind not in "biuf":
                raise InputError(f"{what} for input {slot.name!r} has dtype {array.dtype}; "
                                 "autofix needs numbers")
            if array.ndim == len(slot.shape) and len(slot.shape) >= 1 and slot.shape[-1] == 1:
                array = array[..., None]  # a vector for a one-column input
            if tuple(array.shape[1:]) != slot.shape:
                raise InputError(f"{what} for input {slot.name!r} has rows of shape "
                                 f"{tuple(array.shape[1:])} but the model expects {slot.shape}")
            out.append(array)
        rows = {len(array) for array in out}
        if len(rows) > 1:
            counts = ", ".join(f"{s.name!r} {len(a)}" for s, a in zip(self.slots, out))
            raise InputError(f"{what}'s arrays have different numbers of rows ({counts})")
        return out

    def unread(self, x: dict, what: str = "x") -> list[str]:
        """The keys of ``x`` that name no input of the model."""
        return named_arrays.unread(x, self.names, what)

    def pack(self, x, what: str = "x") -> np.ndarray:
        """The inputs' arrays flattened and side by side: one float array of ``width``
        columns."""
        arrays = self.arrays(x, what)
        n = len(arrays[0])
        with np.errstate(over="ignore", invalid="ignore"):
            return np.concatenate([a.reshape(n, -1).astype("float32") for a in arrays], axis=1)

    def unpack(self, packed: np.ndarray) -> dict:
        """The packed array back as ``{input name: array}`` in each input's shape and dtype."""
        n = len(packed)
        return {s.name: packed[:, s.start:s.stop].reshape((n, *s.shape)).astype(s.dtype)
                for s in self.slots}


def one_array(x, model, layout: InputLayout | None, what: str = "x"):
    """``x`` as the one array the repair reads: a several-input model's arrays packed side
    by side (``layout``; a dict by input name, or a list in input order); a one-input
    model's array as given, or the entry of a dict named after its input (or ``x``)."""
    if layout is not None:
        return layout.pack(x, what)
    if isinstance(x, dict):
        name = model.inputs[0].name
        key = named_arrays.key_of(x, name, what, what)
        if key is None:
            named = "" if name.startswith("keras_tensor") else f" or the model's input name {name!r}"
            raise InputError(f"no {what} array: expected {what}{named}, found "
                             f"{', '.join(sorted(x)) or 'no arrays'}; the model has one input")
        return x[key]
    if isinstance(x, (list, tuple)) and x and all(hasattr(a, "shape") for a in x):
        if len(x) != 1:
            raise InputError(f"the model has one input but {what} is a list of {len(x)} "
                             "arrays; give one array")
        return x[0]
    return x


def _reads_raw(model, tensor) -> bool:
    dtype = str(getattr(tensor, "dtype", "float32"))
    if "int" in dtype or "bool" in dtype:
        return True
    firsts = first_readers(model, tensor)
    return bool(firsts) and all(type(layer).__name__ in ID_LAYERS | SCALING_LAYERS
                                for layer in firsts)


def layout_of(model, *, source: str | None = None) -> InputLayout:
    """The :class:`InputLayout` of a graph model with several inputs; an :class:`InputError`
    line for an input autofix cannot pack (a variable length, text). Worked out once per
    model: loading checks it, and the CLI and the repair read it again."""
    if model in _LAYOUTS:
        return _LAYOUTS[model]
    _LAYOUTS[model] = layout = _layout(model, source)
    return layout


#: the layouts worked out so far, by model (forgotten with the model)
_LAYOUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _layout(model, source: str | None) -> InputLayout:
    slots, start = [], 0
    for tensor in model.inputs:
        name = tensor.name
        shape = tuple(tensor.shape[1:])
        dtype = str(getattr(tensor, "dtype", "float32"))
        if any(dim is None for dim in shape):
            raise InputError(f"the model's input {name!r} has a variable shape {shape}; autofix "
                             "repairs several-input models whose inputs have a fixed shape "
                             "(pad the sequences to one length)", path=source)
        if "string" in dtype:
            raise InputError(f"the model's input {name!r} reads text; autofix needs numbers "
                             "(vectorize the text before the model)", path=source)
        width = int(np.prod(shape)) if shape else 1
        slots.append(Slot(name, shape, dtype, start, start + width, _reads_raw(model, tensor)))
        start += width
    return InputLayout(tuple(slots), keyed=isinstance(model.input, dict))


def _structured(layout: InputLayout, tensors: list):
    return dict(zip(layout.names, tensors)) if layout.keyed else list(tensors)


def packed_model(model, layout: InputLayout):
    """``model`` reading the packed array: each input's columns are cut out of it and
    reshaped (``Reshape`` -> ``Cropping1D`` -> ``Reshape``), then the model's own layers run
    on them as before (the same layer objects: the weights are shared, not copied)."""
    width = layout.width
    packed = keras.Input(shape=(width,), name=PACKED_INPUT)
    cut = []
    for i, slot in enumerate(layout.slots):
        h = keras.layers.Reshape((width, 1), name=f"{CUT_PREFIX}{i}_columns")(packed)
        h = keras.layers.Cropping1D((slot.start, width - slot.stop), name=f"{CUT_PREFIX}{i}_crop")(h)
        cut.append(keras.layers.Reshape(slot.shape or (1,), name=f"{CUT_PREFIX}{i}")(h))
    outputs = model.call(_structured(layout, cut))
    return compiled_like(keras.Model(packed, outputs, name=model.name), model)


def _parts(fixed) -> tuple[list, object, list]:
    """(layers before, the packed core, layers after) of a candidate's assembled model: a
    chain around a nested model that holds the cutting layers, or the core itself."""
    if any(layer.name == f"{CUT_PREFIX}0" for layer in fixed.layers):
        return [], fixed, []
    before, core, after = [], None, []
    for layer in fixed.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        if core is None and isinstance(layer, keras.Model) and any(
                inner.name == f"{CUT_PREFIX}0" for inner in layer.layers):
            core = layer
        elif core is None:
            before.append(layer)
        else:
            after.append(layer)
    return before, core, after


def _split_normalization(layer, slot: Slot):
    """One input's share of a ``Normalization`` over the packed columns."""
    mean = np.asarray(layer.mean).reshape(-1)[slot.start:slot.stop]
    variance = np.asarray(layer.variance).reshape(-1)[slot.start:slot.stop]
    axes = tuple(range(-len(slot.shape), 0)) if len(slot.shape) > 1 else -1
    return keras.layers.Normalization(axis=axes, mean=mean.reshape(slot.shape),
                                  variance=variance.reshape(slot.shape),
                                  name=f"{layer.name}_{slot.name}")


def unpacked_model(fixed, layout: InputLayout, *, name: str | None = None):
    """The repaired packed model as a model of the user's inputs (same names, shapes, dtypes
    and structure), built from its own layers and weights."""
    before, core, after = _parts(fixed)
    inputs = [keras.Input(shape=slot.shape, dtype=slot.dtype, name=slot.name) for slot in layout.slots]
    if core is None or any(type(layer).__name__ != "Normalization" for layer in before):
        # not a chain autofix assembled: feed the packed model the packed inputs as they are
        flat = [keras.layers.Rescaling(1.0, name=f"{CUT_PREFIX}{i}_as_float")(t)
                for i, t in enumerate(inputs)]
        flat = [keras.layers.Reshape((s.stop - s.start,))(t) for s, t in zip(layout.slots, flat)]
        outputs = fixed(keras.layers.Concatenate(name=PACKED_INPUT)(flat))
        unpacked = keras.Model(_structured(layout, inputs), outputs, name=name or fixed.name)
        return compiled_like(unpacked, fixed, build=True)
    tensors = list(inputs)
    for layer in before:  # the candidate's standardization, one Normalization per input
        tensors = [t if slot.raw else _split_normalization(layer, slot)(t)
                   for slot, t in zip(layout.slots, tensors)]
    cut = [core.get_layer(f"{CUT_PREFIX}{i}").output for i in range(len(layout.slots))]
    inner = keras.Model(cut, core.outputs)  # the model's own layers, from the cut inputs on
    h = inner.call(tensors)
    for layer in after:
        h = layer(h)
    unpacked = keras.Model(_structured(layout, inputs), h, name=name or core.name)
    return compiled_like(unpacked, fixed, build=True)
