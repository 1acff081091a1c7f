"""The training setup: optimizer, learning rate, loss, epochs, batch size.

Read from a compiled model (its "original training setup") or inferred for the task.
A :class:`TrainingSetup` is a plain value: strategies return changed copies.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from autofix._backend import keras
from autofix.inputs.task import Task, default_loss
from autofix.model.anatomy import output_units

LOSS_ALIASES = {
    "mse": "mean_squared_error", "mean_squared_error": "mean_squared_error",
    "meansquarederror": "mean_squared_error",
    "mae": "mean_absolute_error", "mean_absolute_error": "mean_absolute_error",
    "meanabsoluteerror": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error", "mean_absolute_percentage_error": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error", "mean_squared_logarithmic_error": "mean_squared_logarithmic_error",
    "huber": "huber", "huber_loss": "huber", "log_cosh": "log_cosh", "logcosh": "log_cosh",
    "binary_crossentropy": "binary_crossentropy", "binarycrossentropy": "binary_crossentropy",
    "binary_focal_crossentropy": "binary_focal_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "categoricalcrossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "sparsecategoricalcrossentropy": "sparse_categorical_crossentropy",
    "categorical_focal_crossentropy": "categorical_focal_crossentropy",
    "hinge": "hinge", "squared_hinge": "squared_hinge", "categorical_hinge": "categorical_hinge",
    "poisson": "poisson", "kl_divergence": "kl_divergence", "kld": "kl_divergence",
    "cosine_similarity": "cosine_similarity",
}
REGRESSION_LOSSES = {
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "huber", "log_cosh", "poisson", "cosine_similarity",
}
PROBABILISTIC_LOSSES = {
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "categorical_focal_crossentropy", "kl_divergence",
}


@dataclass(frozen=True)
class TrainingSetup:
    optimizer: str = "adam"
    optimizer_config: dict = field(default_factory=dict)
    learning_rate: float = 1e-3
    loss: str = "mean_squared_error"
    from_logits: bool = False
    epochs: int = 50
    batch_size: int = 32
    clipnorm: float | None = None
    class_weight: dict | None = None
    compiled: bool = True
    #: train up to ``epochs``, stopping once the loss on held-out training rows stops
    #: improving, and keep the best weights (epochs chosen by validation, not guessed)
    early_stopping: bool = False
    #: the user's own loss (a function or Loss object Keras cannot look up by name), used
    #: while ``loss`` is still its name
    custom_loss: object = field(default=None, compare=False, repr=False)

    def replace(self, **changes) -> "TrainingSetup":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return {
            "optimizer": self.optimizer, "learning_rate": self.learning_rate, "loss": self.loss,
            "from_logits": self.from_logits, "epochs": self.epochs, "batch_size": self.batch_size,
            "clipnorm": self.clipnorm, "compiled": self.compiled,
            "early_stopping": self.early_stopping,
        }

    def compile_summary(self) -> dict:
        """What a fixed model is compiled with (the optimizer, its learning rate, the loss)."""
        return {"optimizer": self.optimizer, "learning_rate": self.learning_rate,
                "loss": self.loss, "from_logits": self.from_logits, "clipnorm": self.clipnorm}

    def make_optimizer(self):
        config = dict(self.optimizer_config)
        config["learning_rate"] = float(self.learning_rate)
        if self.clipnorm is not None:
            config["clipnorm"] = float(self.clipnorm)
            config.pop("global_clipnorm", None)
            config.pop("clipvalue", None)
        try:
            return keras.optimizers.get({"class_name": self.optimizer, "config": config})
        except (ValueError, TypeError):
            fallback = {"learning_rate": config["learning_rate"]}
            if self.clipnorm is not None:
                fallback["clipnorm"] = config["clipnorm"]
            return keras.optimizers.Adam(**fallback)

    @property
    def uses_custom_loss(self) -> bool:
        return self.custom_loss is not None and self.loss == canonical_loss(self.custom_loss)[0]

    def compile_loss(self):
        """The loss a model handed back is compiled with: the user's own function as they
        gave it (saved under its name, loaded with their code), else :meth:`make_loss`."""
        return self.custom_loss if self.uses_custom_loss else self.make_loss()

    def make_loss(self):
        if self.uses_custom_loss:
            if isinstance(self.custom_loss, keras.losses.Loss):
                return self.custom_loss
            return FunctionLoss(self.custom_loss)
        kwargs = {"from_logits": True} if self.from_logits else {}
        classes = {
            "binary_crossentropy": keras.losses.BinaryCrossentropy,
            "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
            "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
        }
        if self.loss in classes:
            return classes[self.loss](**kwargs)
        by_key = {name.lower(): getattr(keras.losses, name) for name in dir(keras.losses)
                  if name[:1].isupper()}
        cls = by_key.get(self.loss.replace("_", ""))
        if cls is not None and issubclass(cls, keras.losses.Loss):
            return cls()  # a Loss object reduces to a scalar, unlike the plain function
        return keras.losses.get(self.loss)


class FunctionLoss(keras.losses.Loss):
    """A plain loss function as a Keras ``Loss`` (targets brought to the predictions' rank,
    weighted and reduced to a scalar, as ``compile`` does with it)."""

    def __init__(self, fn, **kwargs):
        super().__init__(name=getattr(fn, "__name__", "loss"), **kwargs)
        self.fn = fn

    def call(self, y_true, y_pred):
        if len(y_true.shape) == len(y_pred.shape) - 1:
            y_true = keras.ops.expand_dims(y_true, -1)
        elif len(y_true.shape) == len(y_pred.shape) + 1 and y_true.shape[-1] == 1:
            y_true = keras.ops.squeeze(y_true, -1)
        return self.fn(y_true, y_pred)


def canonical_loss(loss) -> tuple[str, bool]:
    """Return (canonical name, from_logits) for a loss given as str, function or object."""
    if loss is None:
        return "", False
    from_logits = False
    if isinstance(loss, str):
        name = loss
    elif hasattr(loss, "get_config"):
        try:
            config = loss.get_config()
        except Exception:  # noqa: BLE001 - a custom loss may not serialize
            config = {}
        name = config.get("name") or type(loss).__name__
        from_logits = bool(config.get("from_logits", False))
        inner = getattr(loss, "fn", None)
        if inner is not None and getattr(inner, "__name__", None):
            name = inner.__name__
    else:
        name = getattr(loss, "__name__", type(loss).__name__)
    key = name.lower().replace(" ", "_")
    return LOSS_ALIASES.get(key, LOSS_ALIASES.get(key.replace("_", ""), key)), from_logits


def setup_from_model(model, task: Task, *, epochs: int = 50, batch_size: int = 32) -> TrainingSetup:
    """The model's own compile settings, or Adam(1e-3) and the task's loss if uncompiled."""
    units = output_units(model)
    optimizer = getattr(model, "optimizer", None)
    loss = getattr(model, "loss", None)
    if optimizer is None or loss is None:
        return TrainingSetup(loss=default_loss(task, units), epochs=epochs, batch_size=batch_size,
                             compiled=False)
    config = dict(optimizer.get_config())
    lr = config.pop("learning_rate", 1e-3)
    if isinstance(lr, dict):  # a schedule: take its initial rate
        lr = lr.get("config", {}).get("initial_learning_rate", 1e-3)
    try:
        lr = float(lr)
    except (TypeError, ValueError):
        lr = float(optimizer.learning_rate.numpy())
    lr = float(f"{lr:.6g}")  # the optimizer stores float32: 0.0010000000474974513 is 0.001
    config.pop("name", None)
    name, from_logits = canonical_loss(loss)
    custom = None if isinstance(loss, str) or name in LOSS_ALIASES.values() else loss
    return TrainingSetup(
        optimizer=type(optimizer).__name__, optimizer_config=config, learning_rate=lr, loss=name,
        from_logits=from_logits, epochs=epochs, batch_size=batch_size,
        clipnorm=config.get("clipnorm"), custom_loss=custom,
    )
