"""Model surgery with Keras' own ``clone_model``: change layer configs, never weights.

Every change goes through ``keras.models.clone_model`` with a ``clone_function`` that
rebuilds layers from their ``get_config()``; ``clone_model`` rebuilds every layer (fresh
weights), so a change of width re-infers the shapes of the layers after it. Layers
without a kernel (Activation, Dropout, BatchNormalization, pooling) are rebuilt as they
are unless a change names them and their config has the setting.
"""

from __future__ import annotations

from autofix._backend import keras
from autofix.model.anatomy import (
    ACTIVATION_LAYERS,
    activation_name,
    cut_layers,
    input_size,
    is_recurrent,
    layer_width,
    output_activation,
    output_layer,
    output_size,
    parents,
    producer,
    single_parent_chain,
    width_head,
)

SATURATING = {"sigmoid", "tanh", "hard_sigmoid", "softsign"}
RELU_LIKE = {"relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "mish"}

#: a hidden layer at most this wide is a bottleneck when the input has this many values
NARROW_WIDTH = 2
MANY_FEATURES = 4
#: the narrowest and widest width a widened layer gets
MIN_WIDTH = 16
MAX_WIDTH = 512


def rebuild_layer(layer, **changes):
    """A new layer of the same class from ``layer``'s config with ``changes`` applied."""
    config = layer.get_config()
    config.update(changes)
    return layer.__class__.from_config(config)


def fresh_layer(layer):
    """``layer`` rebuilt from its config (new weights)."""
    return layer.__class__.from_config(layer.get_config())


def applicable(layer, changes: dict) -> dict:
    """The items of ``changes`` that ``layer``'s config has (a kernel initializer means
    nothing to an Activation layer)."""
    config = layer.get_config()
    return {key: value for key, value in changes.items() if key in config}


def clone_model(model, **kwargs):
    """``keras.models.clone_model`` without the compile settings. Keras re-compiles the clone
    of a compiled model from its compile config, which fails on a custom loss function the
    user never registered ("Could not locate function"); autofix compiles every model it
    trains itself, so the clone needs none."""
    compiled = getattr(model, "compiled", False)
    model.compiled = False
    try:
        return keras.models.clone_model(model, **kwargs)
    finally:
        model.compiled = compiled


def clone_core(draft, clone_function, *, recursive: bool = False, skip=(),
               refreeze: bool = True) -> None:
    """Rebuild ``draft.core`` with ``keras.models.clone_model(clone_function=...)``, keeping
    the weights training never moves (:func:`keep_fixed_weights`) except on the layers in
    ``skip``; ``recursive``: nested models' layers go through ``clone_function`` too."""
    before = draft.core
    draft.core = clone_model(before, clone_function=clone_function, recursive=recursive)
    keep_fixed_weights(before, draft.core, skip=skip, refreeze=refreeze)


def clone_changing(draft, wanted: dict) -> None:
    """Re-clone ``draft.core``; layers named in ``wanted`` get their config changed.

    A change the layer's config does not have is dropped, except ``activation`` on an
    activation layer without that argument (Softmax, ReLU...), which is replaced by an
    ``Activation`` layer of the same name."""

    def clone_function(layer):
        if layer.name not in wanted:
            return fresh_layer(layer)
        changes = dict(wanted[layer.name])
        if "activation" in changes and "activation" not in layer.get_config() \
                and type(layer).__name__ in ACTIVATION_LAYERS:
            # an activation layer (Softmax, ReLU...): replace it by the wanted activation
            return keras.layers.Activation(changes["activation"], name=layer.name)
        changes = applicable(layer, changes)
        return rebuild_layer(layer, **changes) if changes else fresh_layer(layer)

    clone_core(draft, clone_function, skip=set(wanted))


#: layers whose weights are state set before training (``adapt``), never trained: a fresh
#: clone would lose it (a Normalization would forget the mean and variance it learned)
ADAPTED_LAYERS = {"Normalization", "Discretization", "IntegerLookup", "StringLookup",
                  "TextVectorization", "CategoryEncoding", "Hashing"}


def keep_fixed_weights(source, target, skip=(), *, refreeze: bool = True, frozen_too: bool = True,
                       _frozen: bool = False) -> list[str]:
    """Copy the weights training never moves from ``source`` onto the layers of the same
    name in ``target`` (where the shapes still match): those of frozen layers (a pretrained
    feature extractor set ``trainable=False``, nested models' layers included), kept frozen
    unless ``refreeze`` is False, and the adapted state of preprocessing layers (a
    Normalization's mean and variance). Top-level layers named in ``skip`` keep their fresh
    weights; ``frozen_too=False`` copies the adapted state only. Returns the names copied."""
    model_class = keras.Model
    by_name = {layer.name: layer for layer in target.layers}
    copied = []
    for layer in source.layers:
        twin = by_name.get(layer.name)
        if twin is None or layer.name in skip:
            continue
        frozen = (_frozen or not layer.trainable) and frozen_too
        if isinstance(layer, model_class) and isinstance(twin, model_class):
            copied += keep_fixed_weights(layer, twin, (), refreeze=refreeze, frozen_too=frozen_too,
                                         _frozen=frozen)
            continue
        adapted = type(layer).__name__ in ADAPTED_LAYERS
        if not (frozen or adapted) or not layer.weights:
            continue
        weights = layer.get_weights()
        if [w.shape for w in weights] != [tuple(v.shape) for v in twin.weights]:
            continue
        twin.set_weights(weights)
        if adapted and hasattr(twin, "finalize_state"):
            # a Normalization computes the mean and variance it applies from its adapted
            # state in finalize_state() (as loading a saved model does); set_weights alone
            # leaves it applying the mean 0 and variance 1 it was built with
            twin.finalize_state()
        if frozen and refreeze:
            twin.trainable = False
        copied.append(layer.name)
    return copied


def clone_keeping_frozen(model):
    """``keras.models.clone_model(model)`` (fresh weights) that keeps what training never
    moves (see :func:`keep_fixed_weights`): retraining the user's setup from a fresh start
    re-initializes what their training moves, not a frozen pretrained block or an adapted
    Normalization."""
    clone = clone_model(model)
    keep_fixed_weights(model, clone)
    return clone


def hidden_layers_with(model, names: set[str]):
    """Hidden layers (not the output head) whose activation is in ``names``."""
    head, _ = output_activation(model)
    return [layer for layer in model.layers
            if layer is not head and activation_name(layer) in names]


def _kernel_before(layer):
    """The nearest layer before ``layer`` that has a kernel initializer (through
    BatchNormalization, Dropout... but not through a branch point)."""
    for up in single_parent_chain(layer):
        if isinstance(up, keras.Model):
            return None
        try:
            if "kernel_initializer" in up.get_config():
                return up
        except Exception:  # noqa: BLE001
            return None
        if activation_name(up) not in (None, "linear"):
            return None  # another activation sits in between
    return None


def saturating_sites(model) -> list[tuple[object, object]]:
    """(layer applying a saturating hidden activation, the kernel layer it follows) pairs.

    The layer is a Dense/Conv with ``activation="sigmoid"`` (it is its own kernel layer)
    or a separate ``Activation("sigmoid")`` layer (its kernel layer is the nearest one
    before it, or None). Recurrent layers are left alone: their tanh and sigmoid gates
    are how they work."""
    sites = []
    for layer in hidden_layers_with(model, SATURATING):
        if isinstance(layer, keras.Model) or is_recurrent(layer):
            continue
        config = layer.get_config()
        kernel = layer if "kernel_initializer" in config else _kernel_before(layer)
        sites.append((layer, kernel))
    return sites


def applied_activations(model) -> dict[str, str | None]:
    """For each top-level layer with a kernel, the activation applied to its output: its
    own, or (for a linear layer) that of a separate activation layer after it, through
    layers without one of their own (BatchNormalization, Dropout)."""
    members = {id(layer): layer for layer in model.layers}
    children: dict[int, list] = {id(layer): [] for layer in model.layers}
    for layer in model.layers:
        for parent in parents(layer, members):
            children[id(parent)].append(layer)
    found = {}
    for layer in model.layers:
        if getattr(layer, "kernel", None) is None:
            continue
        own = act = activation_name(layer)
        current = layer
        while act in (None, "linear") and len(children[id(current)]) == 1:
            current = children[id(current)][0]
            if layer_width(current) is not None or isinstance(current, keras.Model):
                break
            act = activation_name(current) or act
        found[layer.name] = act if act not in (None, "linear") else own
    return found


def unfreeze(draft) -> list[str]:
    """Make every layer of ``draft.core`` trainable (nested models' layers included);
    returns the names of the layers that were frozen."""
    was_frozen = []

    def clone_function(layer):
        config = layer.get_config()
        if config.get("trainable") is False:
            was_frozen.append(layer.name)
        config["trainable"] = True
        return layer.__class__.from_config(config)

    frozen_model = not draft.core.trainable
    clone_core(draft, clone_function, recursive=True, refreeze=False)
    draft.core.trainable = True  # a frozen model (or nested model) freezes all its layers
    if frozen_model:
        was_frozen.insert(0, draft.core.name)
    return was_frozen


def _input_features(layer) -> int | None:
    """The feature (last) dimension of what ``layer`` reads."""
    try:
        last = layer.input.shape[-1]
    except Exception:  # noqa: BLE001 - several inputs or a shared layer
        return None
    return int(last) if last is not None else None


def _width_owner(layer, members):
    """The layer whose width setting makes ``layer``'s width: itself, or the nearest one
    before it through layers that only pass features on (Activation, Dropout, pooling,
    Flatten...); None behind a wrapper (Bidirectional, a nested model) or a branch point."""
    for candidate in [layer, *single_parent_chain(layer, members)]:
        if isinstance(candidate, keras.Model):
            return None
        if layer_width(candidate) is not None:
            return candidate
        try:
            config = candidate.get_config()
        except Exception:  # noqa: BLE001
            return None
        if any(key in config for key in ("layer", "layers", "cell")):
            return None  # a wrapper sets its width through what it wraps
    return None


def bottlenecks(model) -> list[dict]:
    """Hidden layers that every path to the output passes through and that carry fewer
    values than the output needs: fewer than the output's width (a Dense(2) in front of
    10 classes), or at most two when the input has many values. Each is attributed to the
    layer whose width makes it narrow (the Dense, Conv, LSTM/GRU or Embedding itself, or
    the nearest one before a pooling/Activation layer) with the width it should have:
    ``max(its width, the output's width, the width of what it reads, 16)``."""
    head = width_head(model)
    if head is None:
        return []
    cuts = cut_layers(model)
    if not any(layer is head for layer in cuts):
        return []
    hidden = cuts[:next(i for i, layer in enumerate(cuts) if layer is head)]
    out_width = output_size(output_layer(model)) or 1
    n_in = input_size(model)
    members = {id(layer): layer for layer in model.layers}
    members.update({id(producer(t)): producer(t) for t in model.inputs})
    found: dict[str, dict] = {}
    for layer in hidden:
        size = output_size(layer)
        if size is None:
            continue
        if not (size < out_width or (size <= NARROW_WIDTH and (n_in or 0) >= MANY_FEATURES)):
            continue
        owner = _width_owner(layer, members)
        if owner is None or owner is head or owner.name in found:
            continue
        key, width = layer_width(owner)
        before = None if key == "output_dim" else _input_features(owner)
        want = max(width, out_width, before or 0, MIN_WIDTH)
        want = min(want, max(MAX_WIDTH, width, out_width))
        if want <= width:
            continue
        found[owner.name] = {"layer": owner.name, "class": type(owner).__name__, "key": key,
                             "width": width, "values": size, "wanted": want,
                             "output_width": out_width, "input_values": n_in,
                             "narrower_than_output": size < out_width}
    return list(found.values())


def widen(draft, sites: list[dict]) -> dict:
    """Rebuild the layers named in ``sites`` (from :func:`bottlenecks`) at their wanted
    width; returns {layer name: new width}."""
    wanted = {site["layer"]: {site["key"]: site["wanted"]} for site in sites}
    if wanted:
        clone_changing(draft, wanted)
    return {name: next(iter(change.values())) for name, change in wanted.items()}


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
