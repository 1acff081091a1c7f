"""The textbook rebuild: the user's architecture, trained the way a textbook would train it.

No diagnosis goes into it: fresh Glorot initialization (He for ReLU-family layers), every
layer trainable, the task's output activation, width and loss, a ``Normalization`` layer
adapted on x in front (not for integer ids feeding an ``Embedding``), standardized
regression targets (undone by a ``Rescaling`` layer inside the model), Adam at 1e-3, and
early stopping within 300 epochs. It is the last resort of the search, and the yardstick
the benchmark holds every repair against.
"""

from __future__ import annotations

import numpy as np

from autofix._backend import keras
from autofix.inputs.task import wanted_output
from autofix.model.anatomy import activation_name, nearest, output_activation, producer
from autofix.model.surgery import (
    RELU_LIKE,
    clone_changing,
    clone_model,
    keep_fixed_weights,
    rebuild_layer,
)
from autofix.strategies.base import Strategy, register
from autofix.strategies.change_loss import ChangeLoss
from autofix.strategies.normalize_inputs import NormalizeInputs
from autofix.strategies.reduce_dropout import lowered_rates
from autofix.strategies.reinitialize_weights import fresh_initializers
from autofix.strategies.rescale_targets import RescaleTargets
from autofix.strategies.swap_output_activation import SwapOutputActivation

MAX_EPOCHS = 300
#: layers an activation passes through unchanged in kind (a Dense -> BatchNorm -> ReLU
#: block is a ReLU block: its kernel gets He initialization)
_PASS_THROUGH = {"BatchNormalization", "LayerNormalization", "GroupNormalization", "Dropout",
                 "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
                 "GaussianDropout", "AlphaDropout", "Reshape", "Flatten"}
#: the Keras defaults of initializers a rebuild resets besides kernel and bias
_DEFAULT_INITIALIZERS = {
    "recurrent_initializer": "orthogonal",
    "embeddings_initializer": "uniform",
    "gamma_initializer": "ones",
    "beta_initializer": "zeros",
    "moving_mean_initializer": "zeros",
    "moving_variance_initializer": "ones",
    "depthwise_initializer": "glorot_uniform",
    "pointwise_initializer": "glorot_uniform",
}


def _consumers(layer) -> list:
    return [node.operation for node in getattr(layer, "_outbound_nodes", [])
            if getattr(node, "operation", None) is not None]


def _feeds_relu(layer) -> bool:
    """Whether ``layer``'s output goes, through normalization or dropout only, into a
    ReLU-family activation layer (Dense(activation=None) followed by Activation("relu"))."""
    seen = 0
    nxt = _consumers(layer)
    while len(nxt) == 1 and seen < 4:
        layer = nxt[0]
        name = activation_name(layer)
        if name is not None:
            return name in RELU_LIKE
        if type(layer).__name__ not in _PASS_THROUGH:
            return False
        nxt = _consumers(layer)
        seen += 1
    return False


def _relu_blocks(model) -> set:
    """Names of the kernel layers with a linear activation whose output a separate
    ReLU-family activation layer takes (nested models included)."""
    names = set()
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            names |= _relu_blocks(layer)
        elif "kernel_initializer" in layer.get_config() and \
                activation_name(layer) in (None, "linear") and _feeds_relu(layer):
            names.add(layer.name)
    return names


def _head_kernel(model) -> str | None:
    """Name of the layer with the output's kernel: the head itself, or the kernel layer
    that feeds a separate output activation layer (through pass-through layers)."""
    layer = nearest(output_activation(model)[0], lambda one: "kernel_initializer" in one.get_config(), 5)
    return None if layer is None else layer.name


def fresh_layer(layer, relu_blocks: set = frozenset(), head: str | None = None):
    """``layer`` rebuilt from its config with fresh default-style initializers, trainable.
    Kernels of ReLU blocks get He initialization, the output head Glorot whatever the
    (possibly wrong) activation it came with."""
    config = layer.get_config()
    applied = "relu" if layer.name in relu_blocks else activation_name(layer)
    changes = fresh_initializers(layer, None if layer.name == head else applied)
    for key, default in _DEFAULT_INITIALIZERS.items():
        if key in config:
            changes[key] = default
    if "trainable" in config:
        changes["trainable"] = True
    changes.update(lowered_rates(layer))  # a textbook model drops 0.2, not 0.9
    return rebuild_layer(layer, **changes)


def _integer_ids(problem, core) -> bool:
    """Whether x holds integer ids for an Embedding (normalizing them would break them)."""
    if np.issubdtype(np.asarray(problem.x).dtype, np.integer):
        return True
    first = producer(core.inputs[0]) if getattr(core, "inputs", None) else None
    return first is not None and any(type(c).__name__ == "Embedding" for c in _consumers(first))


def _fix_width(draft, want_units: int) -> bool:
    """When the head is an activation layer after a Dense of the wrong width, resize that
    Dense (``swap_output_activation`` resizes a head that has units itself)."""
    if draft.output_units == want_units:
        return False
    with_units = [layer for layer in draft.core.layers if getattr(layer, "units", None)]
    if not with_units:
        return False
    clone_changing(draft, {with_units[-1].name: {"units": want_units}})
    return draft.output_units == want_units


@register
class Rebuild(Strategy):
    name = "rebuild"
    summary = ("textbook rebuild, no diagnosis: fresh init, all trainable, the task's head and "
               "loss, normalized inputs and targets, Adam 1e-3, early stopping <= 300 epochs")
    answers = frozenset({"degenerate_predictions"})
    order = 1  # first: it starts over from the user's model; training strategies may follow
    standalone = True
    example_scenario = "zero_init"

    def applies(self, problem, findings) -> bool:
        """Only on a model that fails to learn: its predictions are degenerate (an error),
        and the user's own setup retrained (if that was tried) does no better; when the
        setup learns and only the saved weights are bad, ``retrain`` is the answer."""
        if not any(f.code == "degenerate_predictions" and f.severity == "error"
                   for f in findings):
            return False
        rerun = problem.rerun
        verdict = getattr(rerun, "verdict", None)
        return verdict is None or verdict.degenerate

    def apply(self, draft, problem) -> None:
        changes = []
        # from the user's architecture (it comes first in a candidate)
        draft.preprocess, draft.postprocess, draft.callbacks = [], [], []
        draft.target_shift = draft.target_scale = None
        user = problem.model
        relu_blocks, head = _relu_blocks(user), _head_kernel(user)
        draft.core = clone_model(
            user, clone_function=lambda layer: fresh_layer(layer, relu_blocks, head),
            recursive=True)
        draft.core.trainable = True  # Keras sets it on every layer, nested ones included
        keep_fixed_weights(user, draft.core, frozen_too=False)  # an adapted Normalization stays
        changes += ["fresh init", "all layers trainable"]

        SwapOutputActivation().apply(draft, problem)
        want_act, want_units = wanted_output(problem.task, draft.output_units)
        _fix_width(draft, want_units)
        changes.append(f"output: {want_act} over {draft.output_units}")

        ChangeLoss().apply(draft, problem)
        changes.append(f"loss: {draft.setup.loss}")

        if not _integer_ids(problem, draft.core):
            NormalizeInputs().apply(draft, problem)
            changes.append("normalization")
        if problem.task.kind == "regression":
            RescaleTargets().apply(draft, problem)
            changes.append("targets standardized")

        draft.setup = draft.setup.replace(optimizer="Adam", optimizer_config={},
                                          learning_rate=1e-3, from_logits=False, clipnorm=None,
                                          class_weight=None)
        changes.append("adam 1e-3")
        epochs = max(MAX_EPOCHS, draft.setup.epochs)  # (the search's cap may be higher)
        draft.setup = draft.setup.replace(epochs=epochs, early_stopping=True)
        changes.append(f"early stopping <= {epochs} epochs")
        draft.params["rebuild"] = changes
