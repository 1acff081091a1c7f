"""Load and save Keras models safely, and read the few facts autofix needs from them."""

from __future__ import annotations

import inspect
import itertools
import json
import os
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ._tf import keras
from .errors import InputError, brief, error_text, existing_file


def load_model(path: str | Path, *, unsafe: bool = False, notes: list | None = None,
               custom_objects: dict | None = None):
    """Load a ``.keras`` (or legacy ``.h5``) model in Keras' safe mode.

    Arbitrary-code layers (``Lambda``) load only with ``unsafe=True``, which the CLI
    exposes as ``--unsafe-load``. Every failure is one :class:`InputError` line.

    A legacy ``.h5`` whose compile settings Keras cannot restore (Keras 3 fails on files
    compiled with ``loss="mse"``) is loaded uncompiled, still in safe mode, and compiled
    again with the optimizer and loss read from the file's ``training_config`` (JSON). When
    ``notes`` is a list, one plain-English line saying so is appended to it.
    ``custom_objects``: the user's classes and functions by name (``--import``).
    """
    p = existing_file(path, "a .keras model file")
    path = str(path)
    suffix = p.suffix.lower()
    _check_model_file(path, suffix)
    k = keras()
    try:
        model = k.models.load_model(path, safe_mode=not unsafe, compile=True,
                                    custom_objects=custom_objects)
    except Exception as err:  # noqa: BLE001 - Keras raises many types for bad files
        if suffix == ".keras":
            raise _load_error(err, path) from None
        try:  # a legacy .h5 whose model loads but whose compile settings do not
            model = k.models.load_model(path, safe_mode=not unsafe, compile=False,
                                        custom_objects=custom_objects)
        except Exception as again:  # noqa: BLE001
            raise _load_error(again, path) from None
        if isinstance(model, k.Model):
            note = _recompile_from_training_config(model, path, err)
            if notes is not None:
                notes.append(note)
    if not isinstance(model, k.Model):
        raise InputError("does not hold a Keras model", path=path)
    return check_model(model, source=path)


SAVE_HINT = 'MODEL is a file written by model.save("model.keras") (or a legacy .h5)'


def _check_model_file(path: str, suffix: str) -> None:
    """Refuse, by its content, a file that cannot be a model: data, a weights file..."""
    from .data import DATA_KINDS, KIND_WORDS, file_kind

    kind = file_kind(path)
    if kind in DATA_KINDS:
        raise InputError(f"is {KIND_WORDS[kind]}, not a Keras model; {SAVE_HINT}", path=path)
    if kind == "hdf5":
        raise InputError("is an HDF5 file without a model in it (a weights file from "
                         'save_weights?); save the whole model with model.save("model.keras")',
                         path=path)
    if kind == "keras" and suffix != ".keras":
        raise InputError("is a .keras model archive with another name; rename it to end in .keras",
                         path=path)
    if kind == "h5model" and suffix not in (".h5", ".hdf5"):
        raise InputError("is a legacy .h5 model with another name; rename it to end in .h5", path=path)
    if kind == "zip" and suffix == ".keras":
        raise InputError(f"is a zip archive but not a Keras model (no config.json in it); {SAVE_HINT}",
                         path=path)
    if suffix not in (".keras", ".h5", ".hdf5"):
        raise InputError(f"unsupported model file type {suffix or '(none)'}; expected .keras or .h5", path=path)
    if suffix == ".keras" and kind != "keras":
        raise InputError("not a Keras model archive (a .keras file is a zip); was it truncated?", path=path)


_MISSING = (
    re.compile(r"Could not locate (class|function) '([^']+)'"),
    re.compile(r"Unknown (layer|object|[a-z]+ function|initializer|regularizer|constraint): "
               r"'([^']+)'"),
)


def _load_error(err: BaseException, path: str) -> InputError:
    """One line for a model Keras refused to load."""
    text = " ".join(str(err).split())
    lowered = text.lower()
    for pattern in _MISSING:
        found = pattern.search(text)
        if found:
            what, name = found.group(1), found.group(2).split(">")[-1]  # "Custom>MyLayer"
            return _missing_class_error(path, name, "function" if "function" in what else "class")
    if "safe_mode" in lowered or "lambda" in lowered:
        return InputError(
            "holds a Lambda or other arbitrary-code layer, which safe mode refuses to load; "
            "if you trust this file, pass --unsafe-load",
            path=path,
        )
    return InputError(f"could not load the model ({text[:200]})", path=path)


def _missing_class_error(path: str, name: str, what: str) -> InputError:
    if what == "class" and name == _top_class_name(path):
        return InputError(
            f"is a subclassed model (class '{name}'), which Keras cannot rebuild without its "
            "Python code (--unsafe-load does not help); name the file or module that defines "
            "it with --import my_models.py (it runs that code; the class needs "
            "@keras.saving.register_keras_serializable and a get_config), or in Python pass "
            "the model itself to autofix.repair",
            path=path,
        )
    return InputError(
        f"uses the custom {what} '{name}', whose code Keras cannot import here "
        "(--unsafe-load does not help); name the file or module that defines it with "
        "--import my_layers.py (it runs that code), or in Python pass it in "
        "custom_objects={...} (or load the model yourself) and call autofix.repair",
        path=path,
    )


def _top_class_name(path: str) -> str | None:
    """The class name of the saved model itself, read from the file's JSON config."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
        else:
            import h5py

            with h5py.File(path, "r") as handle:
                config = json.loads(_text(handle.attrs["model_config"]))
        return config.get("class_name")
    except Exception:  # noqa: BLE001 - no readable config: no name to compare
        return None


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _recompile_from_training_config(model, path: str, err: BaseException) -> str:
    """Compile ``model`` with the optimizer and loss from the .h5 file's ``training_config``.

    Returns the note for the user. Reads JSON only (``h5py`` attributes), never pickle, and
    builds only Keras' own optimizers and losses. If the setup cannot be recovered the model
    stays uncompiled, and the note says so.
    """
    reason = brief(err, 120)
    head = f"{path}: Keras could not restore how it was compiled ({reason})"
    try:
        import h5py

        with h5py.File(path, "r") as handle:
            raw = handle.attrs.get("training_config")
            if raw is None:
                raise ValueError("the file has no training_config")
            config = json.loads(_text(raw))
        optimizer = _optimizer_from_config(config.get("optimizer_config"))
        loss = _loss_from_config(config.get("loss"))
        model.compile(optimizer=optimizer, loss=loss)
    except Exception as failure:  # noqa: BLE001 - any failure leaves the model uncompiled
        why = brief(failure, 120)
        return (f"{head}; loaded it uncompiled (its training_config could not be used: {why}); "
                "autofix takes Adam and the task's usual loss as the original setup")
    from .training_setup import canonical_loss

    rate = optimizer.get_config().get("learning_rate")
    rate = f"{float(rate):.4g}" if isinstance(rate, (int, float)) else "a schedule"
    return (f"{head}; loaded it uncompiled and compiled it again from its training_config: "
            f"{type(optimizer).__name__}(learning_rate={rate}), loss {canonical_loss(loss)[0]}")


def _builtin(module, class_name, base):
    """The built-in Keras class ``module.class_name`` if it subclasses ``base``, else None."""
    class_name = str(class_name).split(">")[-1].split(".")[-1]  # Keras 2: "Custom>Adam"
    cls = getattr(module, class_name, None)
    return cls if isinstance(cls, type) and issubclass(cls, base) else None


def _accepted(cls, config: dict, drop=()) -> dict:
    """The items of ``config`` that ``cls.__init__`` names as parameters."""
    params = inspect.signature(cls.__init__).parameters
    named = {n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return {key: value for key, value in config.items() if key in named and key not in drop}


def _optimizer_from_config(spec):
    k = keras()
    if isinstance(spec, str):
        spec = {"class_name": spec, "config": {}}
    if not isinstance(spec, dict) or not spec.get("class_name"):
        raise ValueError("no optimizer in it")
    cls = _builtin(k.optimizers, spec["class_name"], k.optimizers.Optimizer)
    if cls is None:
        raise ValueError(f"optimizer {spec['class_name']!r} is not one of Keras' own")
    config = dict(spec.get("config") or {})
    if "lr" in config and "learning_rate" not in config:  # Keras 2.2 and older
        config["learning_rate"] = config.pop("lr")
    rate = config.get("learning_rate")
    if isinstance(rate, dict):  # a schedule: only Keras' own, else its initial rate
        schedule = _builtin(k.optimizers.schedules, rate.get("class_name", ""),
                            k.optimizers.schedules.LearningRateSchedule)
        inner = rate.get("config") or {}
        if schedule is not None:
            config["learning_rate"] = schedule(**_accepted(schedule, inner))
        elif isinstance(inner.get("initial_learning_rate"), (int, float)):
            config["learning_rate"] = float(inner["initial_learning_rate"])
        else:
            config.pop("learning_rate")
    return cls(**_accepted(cls, config, drop=("name",)))


#: Keras 2 loss names that Keras 3 spells differently
_LEGACY_LOSSES = {"kullback_leibler_divergence": "kl_divergence", "logcosh": "log_cosh",
                  "huber_loss": "huber"}


def _loss_from_config(spec):
    k = keras()
    if isinstance(spec, list) and len(spec) == 1:  # one output
        spec = spec[0]
    if isinstance(spec, dict) and len(spec) == 1 and "class_name" not in spec:
        spec = next(iter(spec.values()))
    if isinstance(spec, dict) and spec.get("class_name") == "function":  # Keras 2.13+
        spec = spec.get("config")
    if isinstance(spec, str):
        from .training_setup import LOSS_ALIASES

        key = spec.lower()
        key = _LEGACY_LOSSES.get(key, key)
        for name in (spec, LOSS_ALIASES.get(key), LOSS_ALIASES.get(key.replace("_", "")), key):
            if name:
                try:
                    k.losses.get(name)
                    return name
                except (ValueError, TypeError):
                    continue
        raise ValueError(f"loss {spec!r} is not one of Keras' own")
    if isinstance(spec, dict) and spec.get("class_name"):
        cls = _builtin(k.losses, spec["class_name"], k.losses.Loss)
        if cls is None:
            raise ValueError(f"loss {spec['class_name']!r} is not one of Keras' own")
        return cls(**_accepted(cls, dict(spec.get("config") or {}), drop=("reduction", "name", "dtype")))
    raise ValueError("no loss in it")


def check_model(model, *, source: str | None = None):
    """The model autofix works on: ``model`` itself when it is a Sequential or Functional
    model (several inputs included: see :mod:`autofix.packing`), a Functional view of a
    built subclassed model (see :func:`functional_view`), or one :class:`InputError` line
    (not built, an input among several that cannot be packed). A model of several outputs
    is repaired one output at a time (see :mod:`autofix.outputs`)."""
    if not getattr(model, "built", False):
        raise InputError("the model is not built: give it an input shape (keras.Input(shape=...) "
                         "as its first layer, model.build((None, features)), or call it once on "
                         "a batch: model(x[:1]))", path=source)
    if not getattr(model, "inputs", None):
        model = functional_view(model, source=source)
    if len(model.inputs) > 1:
        from .packing import layout_of

        layout_of(model, source=source)  # one line for an input that cannot be packed
    return model


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
    return isinstance(layer, keras().Model) and bool(getattr(layer, "inputs", None))


def functional_view(model, *, source: str | None = None):
    """A built subclassed ``keras.Model`` as a Functional model of one layer, itself: its
    input shape comes from its build config, its compile settings are copied, and its
    weights are its own (nothing is changed on it). Cloning that view rebuilds the subclass
    from its ``get_config``, so the repair can re-initialize and retrain it, put layers
    before it (normalization) and after it (target scaling), and change its training; what
    lies inside its ``call`` cannot be edited layer by layer."""
    k = keras()
    shape = (model.get_build_config() or {}).get("input_shape")
    if not shape or not isinstance(shape, (list, tuple)) or isinstance(shape[0], (list, tuple, dict)):
        raise InputError(f"the subclassed model {type(model).__name__} was built on several "
                         "inputs; autofix repairs single-input models", path=source)
    inputs = k.Input(shape=tuple(shape[1:]), name="inputs")
    try:
        view = k.Model(inputs, model(inputs), name=model.name)
    except Exception as err:  # noqa: BLE001 - the user's call() decides what can be traced
        raise InputError(f"the subclassed model {type(model).__name__} cannot be called on a "
                         f"symbolic input ({error_text(err)})", path=source) from None
    return compiled_like(view, model)


def compiled_like(model, source, *, loss=None, build: bool = False):
    """``model`` compiled as ``source`` is, if ``source`` is compiled: a fresh optimizer of
    the same config, and ``loss`` (default: ``source``'s); ``build``: the optimizer's
    variables made, so that a saved file holds them."""
    if getattr(source, "compiled", False) and getattr(source, "optimizer", None) is not None:
        optimizer = type(source.optimizer).from_config(source.optimizer.get_config())
        model.compile(optimizer=optimizer, loss=source.loss if loss is None else loss)
        if build:
            model.optimizer.build(model.trainable_variables)
    return model


def _umask_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (0o666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic(path: str | Path, suffix: str, write) -> Path:
    """Write through ``write(tmp_path)`` to a temporary file beside ``path``, give it the
    mode the user's umask asks for (mkstemp's is 0600), then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def save_model_atomic(model, path: str | Path) -> Path:
    """Save ``model`` to ``path`` atomically (temporary file, then rename)."""
    return _atomic(path, ".keras", model.save)


def write_text_atomic(text: str, path: str | Path) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file, then rename)."""
    return _atomic(path, ".tmp", lambda tmp: Path(tmp).write_text(text))


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
        if isinstance(layer, keras().Model):
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
    if isinstance(layer, keras().Model):
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
    dims = list(shape[1:])
    if any(d is None for d in dims):
        return None
    size = 1
    for d in dims:
        size *= int(d)
    return size


def input_size(model) -> int | None:
    """Values per row in the model's input."""
    dims = list(model.inputs[0].shape[1:])
    if any(d is None for d in dims):
        return None
    size = 1
    for d in dims:
        size *= int(d)
    return size


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
    model_class = keras().Model
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
        if isinstance(layer, keras().Model):
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
        if isinstance(candidate, keras().Model):  # a subclassed model's insides are its own
            return output_parameter_layer(candidate) if is_graph_model(candidate) else None
        if _learnable(candidate):
            return candidate
    return None
