"""Load and save Keras models safely, and read the few facts autofix needs from them."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from ._tf import keras
from .errors import InputError, existing_file


def load_model(path: str | Path, *, unsafe: bool = False):
    """Load a ``.keras`` (or legacy ``.h5``) model in Keras' safe mode.

    Arbitrary-code layers (``Lambda``) load only with ``unsafe=True``, which the CLI
    exposes as ``--unsafe-load``. Every failure is one :class:`InputError` line.
    """
    p = existing_file(path, "a .keras model file")
    path = str(path)
    suffix = p.suffix.lower()
    if suffix not in (".keras", ".h5", ".hdf5"):
        raise InputError(f"unsupported model file type {suffix or '(none)'}; expected .keras or .h5", path=path)
    if suffix == ".keras" and not zipfile.is_zipfile(path):
        raise InputError("not a Keras model archive (a .keras file is a zip); was it truncated?", path=path)
    k = keras()
    try:
        model = k.models.load_model(path, safe_mode=not unsafe, compile=True)
    except Exception as err:  # noqa: BLE001 - Keras raises many types for bad files
        text = " ".join(str(err).split())
        lowered = text.lower()
        if "safe_mode" in lowered or "lambda" in lowered:
            raise InputError(
                "holds a Lambda or other arbitrary-code layer, which safe mode refuses to load; "
                "if you trust this file, pass --unsafe-load",
                path=path,
            ) from None
        if "unknown" in lowered and ("layer" in lowered or "object" in lowered or "class" in lowered):
            raise InputError(
                "uses a custom layer or object Keras does not know; if you trust this file and "
                "its code is importable, pass --unsafe-load",
                path=path,
            ) from None
        raise InputError(f"could not load the model ({text[:200]})", path=path) from None
    if not isinstance(model, k.Model):
        raise InputError("does not hold a Keras model", path=path)
    check_model(model, source=path)
    return model


def check_model(model, *, source: str | None = None):
    """Refuse models autofix cannot work on (several inputs or outputs, not built)."""
    if not getattr(model, "built", False) or not getattr(model, "inputs", None):
        raise InputError("the model is not built: give its input shape (keras.Input(shape=...))", path=source)
    if len(model.inputs) != 1:
        raise InputError(f"the model has {len(model.inputs)} inputs; autofix repairs single-input models", path=source)
    if len(model.outputs) != 1:
        raise InputError(f"the model has {len(model.outputs)} outputs; autofix repairs single-output models", path=source)
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


def output_layer(model):
    """The layer that produces the model's (single) output."""
    return model.outputs[0]._keras_history[0]


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
    seen = 0
    while activation_name(layer) is None and seen < 10:
        inbound = layer._inbound_nodes[0].input_tensors if layer._inbound_nodes else []
        if len(inbound) != 1:
            break
        layer = inbound[0]._keras_history[0]
        seen += 1
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
