"""Model surgery with Keras' own ``clone_model``: change layer configs, never weights."""

from __future__ import annotations

from .modelio import activation_name, output_activation
from .task import Task

SATURATING = {"sigmoid", "tanh", "hard_sigmoid", "softsign"}
RELU_LIKE = {"relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "mish"}


def wanted_output(task: Task, units: int) -> tuple[str, int]:
    """(activation, units) an output layer needs to predict this task's targets.

    Unit k is class id k: ids up to K need at least K + 1 units (labels 1..3 need 4); a
    wider head over ids is kept (its extra units are classes y never shows). One-hot
    columns need exactly one unit each."""
    if task.kind == "regression":
        return "linear", units
    if task.kind == "multilabel":
        return "sigmoid", task.n_classes
    if task.kind == "binary" and task.label_format == "ids":
        return ("softmax", max(units, task.width)) if units >= 2 else ("sigmoid", 1)
    if task.label_format == "onehot" and units == 1 and task.n_classes == 2:
        return "sigmoid", 1
    if task.label_format == "ids" and units >= 2:
        return "softmax", max(units, task.width)
    return "softmax", task.width


def rebuild_layer(layer, **changes):
    """A new layer of the same class from ``layer``'s config with ``changes`` applied."""
    config = layer.get_config()
    config.update(changes)
    return layer.__class__.from_config(config)


def clone_changing(draft, wanted: dict) -> None:
    """Re-clone ``draft.core``; layers named in ``wanted`` get their config changed."""

    def clone_function(layer):
        if layer.name not in wanted:
            return layer.__class__.from_config(layer.get_config())
        changes = wanted[layer.name]
        if "activation" in changes and "activation" not in layer.get_config():
            # an activation layer (Softmax, ReLU...): replace it by the wanted activation
            from ._tf import keras

            return keras().layers.Activation(changes["activation"], name=layer.name)
        return rebuild_layer(layer, **changes)

    draft.clone_core(clone_function)


def output_head(model):
    """(layer, activation) of the layer whose activation shapes the model's output."""
    return output_activation(model)


def hidden_layers_with(model, names: set[str]):
    """Hidden layers (not the output head) whose activation is in ``names``."""
    head, _ = output_head(model)
    return [layer for layer in model.layers
            if layer is not head and activation_name(layer) in names]
