"""A model's anatomy: the facts autofix reads from a Keras model (its output and its
activation, widths, dropout rates, the layers that read an input, the graph walks) and
never changes."""

from __future__ import annotations

import itertools
import math

import numpy as np

from autofix._backend import keras
from autofix.errors import InputError

#: the config keys that hold a dropout rate (Dropout and its kin: ``rate``; recurrent layers:
#: ``dropout``, ``recurrent_dropout``)
DROPOUT_KEYS = ("rate", "dropout", "recurrent_dropout")
#: a dropout rate at or above this is heavy: at least half of what reaches the layer is dropped
HEAVY_DROPOUT = 0.5


def dropout_settings(layer) -> dict[str, float]:
    """{config key: rate} of ``layer``'s dropout settings above 0 (empty for other layers)."""
    if "Dropout" not in type(layer).__name__ and not is_recurrent(layer):
        return {}
    try:
        config = layer.get_config()
    except Exception:  # noqa: BLE001 - a layer that cannot describe itself drops nothing we know
        return {}
    return {key: float(config[key]) for key in DROPOUT_KEYS
            if isinstance(config.get(key), (int, float)) and config[key] > 0
            and ("Dropout" in type(layer).__name__ or key != "rate")}


def dropout_rates(model) -> dict[str, float]:
    """{layer name: its highest dropout rate} for the layers of ``model`` (nested graph
    models included) that drop anything."""
    found = {}
    for layer in model.layers:
        if is_graph_model(layer):
            found.update(dropout_rates(layer))
        elif settings := dropout_settings(layer):
            found[layer.name] = max(settings.values())
    return found


def normalizes_its_input(model) -> bool:
    """Whether the first layer after the model's input is a Normalization that changes it
    (adapted, or given a mean and variance): the model already standardizes its input."""
    first = next((layer for layer in model.layers if type(layer).__name__ != "InputLayer"), None)
    if is_graph_model(first):
        return normalizes_its_input(first)
    if type(first).__name__ != "Normalization" or getattr(first, "mean", None) is None:
        return False
    mean, variance = np.asarray(first.mean), np.asarray(first.variance)
    return not (np.allclose(mean, 0) and np.allclose(variance, 1))


def is_graph_model(layer) -> bool:
    """A Sequential or Functional model (a graph of layers autofix can read), not a
    subclassed one (whose ``call`` is code)."""
    return isinstance(layer, keras.Model) and bool(getattr(layer, "inputs", None))


def output_units(model) -> int:
    """The width of the model's (first) output: its units."""
    shape = model.outputs[0].shape if getattr(model, "outputs", None) else model.output_shape
    last = shape[-1]
    return int(last) if last is not None else 1


def output_layer(model):
    """The layer that produces the model's (single) output."""
    return producer(model.outputs[0])


#: layers that are an activation themselves, with no ``activation`` argument
ACTIVATION_LAYERS = {"Softmax": "softmax", "ReLU": "relu", "LeakyReLU": "leaky_relu",
                     "ELU": "elu", "PReLU": "relu"}


def activation_name(layer) -> str | None:
    """The name of a layer's activation ('linear', 'relu', ...), or None if it has none."""
    if type(layer).__name__ in ACTIVATION_LAYERS:
        return ACTIVATION_LAYERS[type(layer).__name__]
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    name = getattr(act, "__name__", None) or type(act).__name__
    return name.lower()


def output_activation(model) -> tuple[object, str]:
    """(layer, activation name) of the layer that shapes the output.

    Walks back through layers without an activation of their own (Dropout, Reshape...)
    to the nearest one that has one.
    """
    layer = output_layer(model)
    for parent in itertools.islice(single_parent_chain(layer), 10):
        if activation_name(layer) is not None:
            break
        layer = parent
    return layer, activation_name(layer) or "linear"


def kernel_layers(model):
    """Layers with a kernel (Dense, Conv...), in order, including those of nested models."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(kernel_layers(layer))
        elif getattr(layer, "kernel", None) is not None:
            found.append(layer)
    return found


#: layer config keys that set how many features a layer puts out (its width)
WIDTH_KEYS = ("units", "filters", "output_dim")
#: layers whose input is ids or categories, not magnitudes
ID_LAYERS = {"Embedding", "CategoryEncoding", "IntegerLookup", "StringLookup", "Hashing",
             "TextVectorization", "Discretization"}
#: layers that scale what they read: a model starting with one scales its own input
SCALING_LAYERS = {"Normalization", "Rescaling", "BatchNormalization", "LayerNormalization",
                  "UnitNormalization", "GroupNormalization"}
#: layers that hold a recurrent cell: their tanh/sigmoid gates are by design
RECURRENT_KEYS = ("recurrent_activation", "recurrent_initializer")


def layer_width(layer) -> tuple[str, int] | None:
    """(config key, value) of the setting that makes a layer's output width: Dense and
    recurrent ``units``, convolution ``filters``, Embedding ``output_dim``; None for layers
    whose width follows their input (Activation, Dropout, BatchNormalization, pooling...)."""
    if isinstance(layer, keras.Model):
        return None
    try:
        config = layer.get_config()
    except Exception:  # noqa: BLE001 - a layer that cannot describe itself has no width
        return None
    for key in WIDTH_KEYS:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return key, value
    return None


def is_recurrent(layer) -> bool:
    """Whether ``layer`` is a recurrent layer (LSTM, GRU, SimpleRNN...)."""
    try:
        config = layer.get_config()
    except Exception:  # noqa: BLE001
        return False
    return any(key in config for key in RECURRENT_KEYS) or "cell" in config


def output_size(layer) -> int | None:
    """Values per row in the layer's output (product of its non-batch dimensions)."""
    try:
        shape = layer.output.shape
    except Exception:  # noqa: BLE001 - a shared layer has several outputs
        return None
    return _row_size(shape)


def input_size(model) -> int | None:
    """Values per row in the model's input."""
    return _row_size(model.inputs[0].shape)


def _row_size(shape) -> int | None:
    """The product of a batch shape's non-batch dimensions; None when one is unknown."""
    dims = list(shape[1:])
    return None if any(d is None for d in dims) else math.prod(int(d) for d in dims)


def producer(tensor):
    """The layer that made ``tensor`` (a symbolic KerasTensor of a graph model): the one
    place autofix reads Keras' private ``_keras_history``."""
    return tensor._keras_history[0]


def nearest(layer, wanted, limit: int = 10):
    """``layer`` or the nearest of its single-parent ancestors (at most ``limit`` layers in
    all) for which ``wanted(layer)`` holds; None when none does."""
    chain = itertools.chain([layer], single_parent_chain(layer))
    return next((one for one in itertools.islice(chain, limit) if wanted(one)), None)


def parents(layer, members: dict | None = None) -> list:
    """The layers whose outputs ``layer`` is called on (input layers included); with
    ``members`` (id -> layer), only those."""
    found, seen = [], set()
    for node in getattr(layer, "_inbound_nodes", None) or []:
        for tensor in node.input_tensors:
            if getattr(tensor, "_keras_history", None) is None:
                continue
            parent = producer(tensor)
            if id(parent) in seen or (members is not None and id(parent) not in members):
                continue
            seen.add(id(parent))
            found.append(parent)
    return found


def _graph(model) -> tuple[list, dict]:
    """(layers in order with the input layer first, id -> parent layers) at the top level."""
    inputs = [producer(t) for t in model.inputs]
    layers = list(inputs) + [layer for layer in model.layers if all(layer is not i for i in inputs)]
    members = {id(layer): layer for layer in layers}
    return layers, {id(layer): parents(layer, members) for layer in layers}


def cut_layers(model, max_layers: int = 300) -> list:
    """Top-level layers that every path from the input to the output passes through, in
    order (a branch of a Functional model is not one; a Sequential layer always is)."""
    layers, graph = _graph(model)
    out = output_layer(model)
    if len(layers) > max_layers:
        return []
    start = {id(producer(t)) for t in model.inputs}
    children: dict = {id(layer): [] for layer in layers}
    for layer in layers:
        for parent in graph[id(layer)]:
            children[id(parent)].append(layer)

    def reaches_output(skip) -> bool:
        stack = [layer for layer in layers if id(layer) in start and layer is not skip]
        seen = {id(layer) for layer in stack}
        while stack:
            layer = stack.pop()
            if layer is out:
                return True
            for child in children[id(layer)]:
                if child is not skip and id(child) not in seen:
                    seen.add(id(child))
                    stack.append(child)
        return False

    return [layer for layer in layers
            if id(layer) not in start and (layer is out or not reaches_output(layer))]


def single_parent_chain(layer, members: dict | None = None):
    """``layer``'s ancestors, nearest first, while each has exactly one parent."""
    while True:
        up = parents(layer, members)
        if len(up) != 1:
            return
        layer = up[0]
        yield layer


def width_head(model):
    """The layer whose width makes the model's output: the output layer, or the nearest
    layer with a width before it (the Dense under a Softmax, Dropout or Reshape)."""
    model_class = keras.Model
    for layer in [output_layer(model), *single_parent_chain(output_layer(model))]:
        if isinstance(layer, model_class):
            return None  # the output comes out of a nested model: no single layer to name
        if layer_width(layer) is not None:
            return layer
    return None


def reads_ids(model) -> bool:
    """Whether the model reads its input as integer ids or categories (an Embedding...)."""
    dtype = str(getattr(model.inputs[0], "dtype", "float32"))
    if "int" in dtype or "string" in dtype or "bool" in dtype:
        return True
    _, graph = _graph(model)
    start = {id(producer(t)) for t in model.inputs}
    for layer in model.layers:
        if id(layer) in start:
            continue
        first = any(id(p) in start for p in graph.get(id(layer), []))
        if first and type(layer).__name__ in ID_LAYERS:
            return True
        if first and is_graph_model(layer) and reads_ids(layer):
            return True
    return False


def first_readers(model, tensor) -> list:
    """The layers of ``model`` that read its input ``tensor`` directly."""
    source = producer(tensor)
    return [layer for layer in model.layers if any(p is source for p in parents(layer))]


def embeddings_by_input(model) -> dict[int, list]:
    """{index of a model input: the Embedding layers that read it directly}."""
    found = {i: [layer for layer in first_readers(model, tensor)
                 if type(layer).__name__ == "Embedding"] for i, tensor in enumerate(model.inputs)}
    return {i: layers for i, layers in found.items() if layers}


def check_ids(model, arrays: list, names: list[str], source: str | None = None) -> None:
    """One :class:`InputError` line when an input's ids fall outside the range of an
    Embedding that reads it (Keras fails on them with a TensorFlow error, or, on a GPU,
    looks up zeros); ``arrays``: each input's values, in the model's input order."""
    for i, layers in embeddings_by_input(model).items():
        values = np.asarray(arrays[i], dtype="float64")
        values = values[np.isfinite(values)]
        if values.size == 0:
            continue
        low, high = int(np.floor(values.min())), int(np.floor(values.max()))
        for layer in layers:
            size = int(layer.input_dim)
            if low < 0 or high >= size:
                raise InputError(
                    f"{names[i]} holds ids from {low} to {high}, but the Embedding {layer.name!r} "
                    f"reads ids 0..{size - 1} (input_dim={size}): "
                    + (f"give it input_dim={high + 1}, or re-encode the ids to 0..{size - 1}"
                       if low >= 0 else f"re-encode the ids to 0..{size - 1}"), path=source)


def _learnable(layer) -> int:
    """Parameters ``layer`` trains when it is trainable, whether it is frozen now or not
    (BatchNormalization's moving statistics never are)."""
    total = 0
    for sub in layer._flatten_layers(include_self=True, recursive=True):
        for variable in getattr(sub, "_trainable_variables", []):
            size = 1
            for d in variable.shape:
                size *= int(d)
            total += size
    return total


def parameter_layers(model, _parent_trainable: bool = True) -> list[tuple[object, int, bool]]:
    """(layer, learnable parameters, trains now) for each layer with parameters, nested
    models' layers included: a layer trains only if it and every model around it is
    trainable."""
    found = []
    trains = _parent_trainable and bool(model.trainable)
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(parameter_layers(layer, trains))
            continue
        count = _learnable(layer)
        if count:
            found.append((layer, count, trains and bool(layer.trainable)))
    return found


def output_parameter_layer(model):
    """The last layer with parameters on the way to the output (the output layer of a
    nested model when the model ends in one)."""
    layer = output_layer(model)
    chain = [layer, *single_parent_chain(layer)]
    for candidate in chain:
        if isinstance(candidate, keras.Model):  # a subclassed model's insides are its own
            return output_parameter_layer(candidate) if is_graph_model(candidate) else None
        if _learnable(candidate):
            return candidate
    return None
