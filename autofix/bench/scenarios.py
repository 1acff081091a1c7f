"""The documented failure scenarios as seeded generators.

Each builds the broken model *and trains it as the article's user did* (a plain
``model.fit`` with the user's settings), and returns it with its data and what autofix
should say about it. ``autofix bench`` and the tests run these.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from autofix._backend import keras
from autofix.errors import InputError


@dataclass
class Case:
    name: str
    model: object
    x: np.ndarray
    y: np.ndarray
    epochs: int
    batch_size: int
    expect_status: str
    expect_codes: tuple
    train_seconds: float = 0.0
    #: builds the correctly built model of the same size: ``reference(k, x, y)`` returns a
    #: compiled model, or ``(model, fit_kwargs)`` when it needs other epochs (say) than the
    #: user's; None for scenarios with nothing to learn (the controls)
    reference: Callable | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    make: Callable
    expect_status: str = "repaired"
    expect_codes: tuple = field(default_factory=tuple)
    reference: Callable | None = None


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, summary: str, expect_status: str = "repaired", expect_codes=(),
             reference: Callable | None = None):
    """Register a scenario. ``reference(k, x, y)`` builds the model its user should have
    built (same size, the bug removed), compiled: the benchmark trains it on autofix's own
    training rows and scores recovery = (fixed - constant) / (reference - constant)."""
    def wrap(fn):
        SCENARIOS[name] = Scenario(name, summary, fn, expect_status, tuple(expect_codes),
                                   reference)
        return fn
    return wrap


def _normalized(k, x, model):
    """``model`` behind a Normalization layer adapted on ``x``."""
    norm = k.layers.Normalization(axis=-1)
    norm.adapt(x)
    inputs = k.Input(shape=x.shape[1:])
    return k.Model(inputs, model(norm(inputs)))


def _correct_mlp(out_units=1, out_activation="linear", loss="mse", *, normalize=False,
                 learning_rate=1e-3, unscale_targets=False, epochs=None, batch_size=None,
                 **mlp_kwargs):
    """A reference builder: the scenario's MLP built right (Adam, the task's head and loss,
    optionally behind a Normalization layer or ending in a Rescaling to y's units);
    ``epochs``/``batch_size``, when given, replace the user's in its training."""
    def build(k, x, y):
        model = _mlp(k, int(np.prod(x.shape[1:])), out_units, out_activation, **mlp_kwargs)
        if unscale_targets:
            inputs = k.Input(shape=x.shape[1:])
            scale = k.layers.Rescaling(scale=float(np.std(y)), offset=float(np.mean(y)))
            model = k.Model(inputs, scale(model(inputs)))
        if normalize:
            model = _normalized(k, x, model)
        model.compile(optimizer=k.optimizers.Adam(learning_rate), loss=loss)
        fit_kwargs = {key: value for key, value in (("epochs", epochs), ("batch_size", batch_size))
                      if value is not None}
        return (model, fit_kwargs) if fit_kwargs else model
    return build


def _signal(rng, n, d=6):
    """Features with a nonlinear signal: y is clearly learnable from x."""
    x = rng.normal(size=(n, d)).astype("float32")
    y = (1.5 * x[:, 0] - 2.0 * x[:, 1] + x[:, 2] * x[:, 3] + np.sin(2 * x[:, 4])
         + 0.1 * rng.normal(size=n))
    return x, y.reshape(-1, 1).astype("float32")


def _mlp(k, d, out_units=1, out_activation="linear", hidden_activation="relu", width=32,
         depth=2, **dense_kwargs):
    layers = [k.Input(shape=(d,))]
    for _ in range(depth):
        layers.append(k.layers.Dense(width, activation=hidden_activation, **dense_kwargs))
    layers.append(k.layers.Dense(out_units, activation=out_activation, **dense_kwargs))
    return k.Sequential(layers)


def _train(model, x, y, epochs, batch_size):
    started = time.monotonic()
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    return time.monotonic() - started


@scenario("unnormalized_inputs", "features 1e-2 to 1e5 apart; signal sits in the small ones",
          expect_codes=("unscaled_inputs",),
          reference=_correct_mlp(normalize=True, learning_rate=0.01))
def unnormalized_inputs(k, rng, n):
    x, y = _signal(rng, n)
    scales = np.array([0.01, 0.01, 1.0, 1.0, 0.05, 1.0], dtype="float32")
    x = x * scales
    x = np.concatenate([x, rng.normal(5e4, 2e4, size=(n, 2)).astype("float32")], axis=1)
    model = _mlp(k, x.shape[1])
    model.compile(optimizer=k.optimizers.Adam(0.01), loss="mse")
    return model, x, y, 50, 32


@scenario("relu_output_signed_targets", "ReLU on the output of a regression with negative targets",
          expect_codes=("output_activation_mismatch",),
          reference=_correct_mlp(learning_rate=0.01))
def relu_output(k, rng, n):
    x, y = _signal(rng, n)
    y = y - 6.0
    model = _mlp(k, x.shape[1], out_activation="relu")
    model.compile(optimizer=k.optimizers.Adam(0.01), loss="mse")
    return model, x, y, 50, 32


@scenario("all_zero_labels", "every label is 0: a data problem", expect_status="unrepairable",
          expect_codes=("constant_target",))
def all_zero_labels(k, rng, n):
    x = rng.random((n, 2)).astype("float32")
    y = np.zeros((n, 1), dtype="float32")
    model = _mlp(k, 2, depth=1)
    model.compile(optimizer=k.optimizers.Adam(0.01), loss="mse")
    return model, x, y, 50, 32


@scenario("zero_init", "every kernel initialized to zeros", expect_codes=("symmetric_init",),
          reference=_correct_mlp(learning_rate=0.01))
def zero_init(k, rng, n):
    x, y = _signal(rng, n)
    model = _mlp(k, x.shape[1], kernel_initializer="zeros")
    model.compile(optimizer=k.optimizers.Adam(0.01), loss="mse")
    return model, x, y, 50, 32


@scenario("learning_rate_too_high", "Adam with learning rate 2.0 on a classifier",
          expect_codes=("learning_rate_too_high",),
          reference=_correct_mlp(1, "sigmoid", "binary_crossentropy", width=64))
def lr_too_high(k, rng, n):
    x, score = _signal(rng, n)
    y = (score[:, 0] > np.median(score)).astype("float32")
    model = _mlp(k, x.shape[1], out_activation="sigmoid", width=64)
    model.compile(optimizer=k.optimizers.Adam(learning_rate=2.0), loss="binary_crossentropy")
    return model, x, y, 50, 32


@scenario("learning_rate_too_low", "Adam with learning rate 1e-7", expect_codes=("learning_rate_too_low",),
          reference=_correct_mlp())
def lr_too_low(k, rng, n):
    x, y = _signal(rng, n)
    model = _mlp(k, x.shape[1])
    model.compile(optimizer=k.optimizers.Adam(1e-7), loss="mse")
    return model, x, y, 50, 32


@scenario("too_few_epochs", "two epochs with large batches: the loss is still falling",
          expect_codes=("undertrained",),
          reference=_correct_mlp(epochs=100))
def too_few_epochs(k, rng, n):
    x, y = _signal(rng, n)
    y = y + 4.0
    model = _mlp(k, x.shape[1])
    model.compile(optimizer=k.optimizers.Adam(1e-3), loss="mse")
    return model, x, y, 2, 128


@scenario("mse_on_onehot", "MSE loss on one-hot digits (10 classes) behind sigmoids, trained with SGD",
          expect_codes=("loss_mismatch",),
          reference=_correct_mlp(10, "softmax", "categorical_crossentropy", normalize=True, depth=1,
                                 epochs=40))
def mse_on_onehot(k, rng, n):
    from sklearn.datasets import load_digits

    digits = load_digits()
    rows = rng.permutation(len(digits.target))[:n]
    x = digits.data[rows].astype("float32")
    y = np.eye(10, dtype="float32")[digits.target[rows]]
    model = _mlp(k, x.shape[1], out_units=10, out_activation="sigmoid", depth=1)
    model.compile(optimizer=k.optimizers.SGD(0.01), loss="mse")
    return model, x, y, 10, 32


@scenario("leaked_target_column", "the label is also the last column of x",
          expect_status="unrepairable", expect_codes=("target_leakage",))
def leaked_target(k, rng, n):
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (rng.random(n) > 0.5).astype("float32")
    x = np.concatenate([x, y[:, None]], axis=1)
    model = _mlp(k, x.shape[1], out_activation="sigmoid", depth=1)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model, x, y, 30, 32


@scenario("sgd_unscaled", "plain SGD on features in the thousands: the loss explodes to NaN",
          expect_codes=("unscaled_inputs",),
          reference=_correct_mlp(normalize=True, learning_rate=0.01, depth=0))
def sgd_unscaled(k, rng, n):
    base = rng.uniform(1, 3, size=(n, 2)).astype("float32")
    x = np.stack([base[:, 0], 1000 * base[:, 1]], axis=1).astype("float32")
    y = (base[:, 0] + 2 * base[:, 1] + 0.05 * rng.normal(size=n)).astype("float32")
    model = k.Sequential([k.Input(shape=(2,)), k.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model, x, y, 50, 32


@scenario("softmax_single_unit", "softmax over a one-unit binary output: always 1.0",
          expect_codes=("output_activation_mismatch",),
          reference=_correct_mlp(1, "sigmoid", "binary_crossentropy"))
def softmax_single_unit(k, rng, n):
    x, score = _signal(rng, n)
    y = (score[:, 0] > np.median(score)).astype("float32")
    model = _mlp(k, x.shape[1], out_activation="softmax")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model, x, y, 30, 32


@scenario("labels_one_to_k", "wine classes labelled 1, 2, 3 (as in the UCI file) under a 3-unit "
          "softmax and sparse_categorical_crossentropy: label 3 has no unit, fit fails",
          expect_codes=("label_encoding",),
          reference=_correct_mlp(4, "softmax", "sparse_categorical_crossentropy", width=16))
def labels_one_to_k(k, rng, n):
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    data = load_wine()
    x = StandardScaler().fit_transform(data.data).astype("float32")
    y = (data.target + 1).astype("int64")
    model = _mlp(k, x.shape[1], out_units=3, out_activation="softmax", width=16)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    # the user's fit raises at its first step ("Received a label value of 3 which is outside
    # the valid range of [0, 3)"): the model keeps its initial weights
    return model, x, y, 30, 16, 0


@scenario("scaled_class_ids", "digits labelled 0, 10, ..., 90 under a 10-unit softmax and "
          "sparse_categorical_crossentropy: the labels are ids times 10, fit fails",
          expect_codes=("label_encoding",),
          # trained on the labels as they are, the correct head needs a unit per label value
          reference=_correct_mlp(91, "softmax", "sparse_categorical_crossentropy", depth=1))
def scaled_class_ids(k, rng, n):
    from sklearn.datasets import load_digits

    digits = load_digits()
    rows = rng.permutation(len(digits.target))[:n]
    x = (digits.data[rows] / 16.0).astype("float32")
    y = (10 * digits.target[rows]).astype("int64")
    model = _mlp(k, x.shape[1], out_units=10, out_activation="softmax", depth=1)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    # the user's fit raises at its first step ("Received a label value of 90 which is
    # outside the valid range of [0, 10)"; on a GPU the loss is NaN instead)
    return model, x, y, 20, 32, 0


@scenario("unscaled_targets", "house-price-like targets around 2e5 with a unit-scale output layer",
          expect_codes=("unscaled_targets",),
          reference=_correct_mlp(unscale_targets=True))
def unscaled_targets(k, rng, n):
    x, y = _signal(rng, n)
    y = 2e5 + 3e4 * y
    model = _mlp(k, x.shape[1])
    model.compile(optimizer="adam", loss="mse")
    return model, x, y.astype("float32"), 50, 32


@scenario("deep_sigmoid", "ten stacked sigmoid layers trained with SGD: early layers get no gradient",
          expect_codes=("vanishing_gradients",),
          reference=_correct_mlp(1, "sigmoid", "binary_crossentropy", depth=10))
def deep_sigmoid(k, rng, n):
    x, score = _signal(rng, n)
    y = (score[:, 0] > np.median(score)).astype("float32")
    model = _mlp(k, x.shape[1], out_activation="sigmoid", hidden_activation="sigmoid", depth=10)
    model.compile(optimizer=k.optimizers.SGD(0.01), loss="binary_crossentropy")
    return model, x, y, 30, 32


@scenario("imbalanced_collapse", "1 positive in 12: the classifier predicts the majority class only",
          expect_codes=("class_imbalance",),
          reference=_correct_mlp(1, "sigmoid", "binary_crossentropy"))
def imbalanced_collapse(k, rng, n):
    x, score = _signal(rng, n)
    y = (score[:, 0] > np.quantile(score, 11 / 12)).astype("float32")
    model = _mlp(k, x.shape[1], out_activation="sigmoid")
    model.compile(optimizer=k.optimizers.SGD(0.003), loss="binary_crossentropy")
    return model, x, y, 20, 32


@scenario("dead_relu", "hidden ReLU biases initialized to -10: every unit is dead from the start",
          expect_codes=("dead_units",),
          reference=_correct_mlp())
def dead_relu(k, rng, n):
    x, y = _signal(rng, n)
    model = _mlp(k, x.shape[1], bias_initializer=k.initializers.Constant(-10.0))
    model.compile(optimizer="adam", loss="mse")
    return model, x, y, 30, 32


# ---- one feature that legitimately determines the target, and rows with NaN: the model is
# broken for another reason, and is repaired (a leak check must not mistake the signal)


@scenario("one_feature_linear", "y = 3x + 1 from a single feature, behind a ReLU output that "
          "cannot produce the (mostly negative) targets",
          expect_codes=("output_activation_mismatch",),
          reference=_correct_mlp(learning_rate=0.01))
def one_feature_linear(k, rng, n):
    x = rng.uniform(-3.0, 1.0, size=(n, 1)).astype("float32")
    y = (3.0 * x[:, 0] + 1.0 + 0.1 * rng.normal(size=n)).astype("float32")
    model = _mlp(k, 1, out_activation="relu")
    model.compile(optimizer=k.optimizers.Adam(0.01), loss="mse")
    return model, x, y, 30, 32


def _blobs(rng, n, classes=3, d=4, spread=8.0):
    """Well-separated Gaussian clusters: each feature's threshold splits the classes."""
    ids = rng.integers(0, classes, size=n)
    centers = rng.normal(size=(classes, d)) * spread
    x = (centers[ids] + rng.normal(size=(n, d))).astype("float32")
    return x, ids.astype("float32").reshape(-1, 1)  # a column: mse broadcasts it over the units


@scenario("separable_clusters", "three well-separated blobs; a softmax head trained with mse on "
          "the integer class ids",
          expect_codes=("loss_mismatch",),
          reference=_correct_mlp(3, "softmax", "sparse_categorical_crossentropy", width=16, depth=1))
def separable_clusters(k, rng, n):
    x, y = _blobs(rng, n)
    model = _mlp(k, x.shape[1], out_units=3, out_activation="softmax", width=16, depth=1)
    model.compile(optimizer="adam", loss="mse")
    return model, x, y, 20, 32


WINDOW = 20


def _windows(rng, n, level=1e3, amplitude=200.0, noise=10.0):
    """``n`` windows of ``WINDOW`` past steps of a noisy sine around ``level``; y: the next
    step (close to the window's last step, never a copy of it)."""
    t = np.arange(n + WINDOW)
    series = level + amplitude * np.sin(2 * np.pi * t / 50) + noise * rng.normal(size=len(t))
    x = np.stack([series[i:i + WINDOW] for i in range(n)])[:, :, None].astype("float32")
    return x, series[WINDOW:WINDOW + n].astype("float32")


def _correct_gru(k, x, y):
    """The forecaster built right: inputs and targets standardized inside the model."""
    inputs = k.Input(shape=x.shape[1:])
    norm = k.layers.Normalization(axis=None)
    norm.adapt(x)
    h = k.layers.GRU(16)(norm(inputs))
    out = k.layers.Rescaling(scale=float(np.std(y)), offset=float(np.mean(y)))(k.layers.Dense(1)(h))
    model = k.Model(inputs, out)
    model.compile(optimizer="adam", loss="mse")
    return model


@scenario("forecasting_windows", "a GRU forecasting the next step of a series around 1e3 from "
          "20 unscaled past steps",
          expect_codes=("unscaled_inputs", "unscaled_targets"),
          reference=_correct_gru)
def forecasting_windows(k, rng, n):
    x, y = _windows(rng, n)
    model = k.Sequential([k.Input((WINDOW, 1)), k.layers.GRU(16), k.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model, x, y, 10, 32


@scenario("nan_rows", "3 % of rows with a NaN feature, on features 1e-2 to 1e5 apart: dropped "
          "and counted, and the scale repaired",
          expect_codes=("nonfinite_data", "unscaled_inputs"),
          reference=_correct_mlp(normalize=True, learning_rate=0.01))
def nan_rows(k, rng, n):
    model, x, y, epochs, batch_size = unnormalized_inputs(k, rng, n)
    rows = rng.choice(n, size=max(1, round(0.03 * n)), replace=False)
    x[rows, rng.integers(0, x.shape[1], size=len(rows))] = np.nan
    return model, x, y, epochs, batch_size


@scenario("healthy_classifier", "a working classifier on scikit-learn's breast cancer data (standardized)",
          expect_status="healthy",
          reference=_correct_mlp(1, "sigmoid", "binary_crossentropy", width=16))
def healthy_classifier(k, rng, n):
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer()
    x = StandardScaler().fit_transform(data.data).astype("float32")
    y = data.target.astype("float32")
    model = _mlp(k, x.shape[1], out_activation="sigmoid", width=16)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model, x, y, 30, 32


@scenario("stale_weights", "a model that learns, saved after one epoch although trained with 50",
          expect_codes=("degenerate_predictions",),
          reference=_correct_mlp())
def stale_weights(k, rng, n):
    x, y = _signal(rng, n)
    y = y + 3.0
    model = _mlp(k, x.shape[1])
    model.compile(optimizer="adam", loss="mse")
    return model, x, y, 50, 32, 1  # says 50 epochs; the saved weights saw 1


@scenario("frozen_layers", "every layer set trainable=False before training: no weight ever moves",
          expect_codes=("frozen_layers",),
          reference=_correct_mlp())
def frozen_layers(k, rng, n):
    x, y = _signal(rng, n)
    model = _mlp(k, x.shape[1])
    for layer in model.layers:
        layer.trainable = False
    model.compile(optimizer="adam", loss="mse")
    return model, x, y, 30, 32


@scenario("heavy_dropout", "Dropout(0.9) after each of 3 hidden layers of a 3-class MLP: too little "
          "gets through to learn", expect_codes=("heavy_dropout",),
          reference=_correct_mlp(3, "softmax", "sparse_categorical_crossentropy", depth=3))
def heavy_dropout(k, rng, n):
    x, y = _blobs(rng, n, classes=3, d=6, spread=1.5)
    hidden = [[k.layers.Dense(32, activation="relu"), k.layers.Dropout(0.9)] for _ in range(3)]
    model = k.Sequential([k.Input(shape=(6,)), *[layer for pair in hidden for layer in pair],
                          k.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model, x, y, 20, 32


@scenario("narrow_bottleneck", "a Dense(1) hidden layer in front of a 10-class softmax on digits",
          expect_codes=("narrow_bottleneck",),
          reference=_correct_mlp(10, "softmax", "sparse_categorical_crossentropy"))
def narrow_bottleneck(k, rng, n):
    from sklearn.datasets import load_digits

    digits = load_digits()
    rows = rng.permutation(len(digits.target))[:n]
    x = (digits.data[rows] / 16.0).astype("float32")
    y = digits.target[rows].astype("int64")
    model = k.Sequential([k.Input(shape=(x.shape[1],)), k.layers.Dense(32, activation="relu"),
                          k.layers.Dense(1), k.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model, x, y, 30, 32


@scenario("activation_layers", "deep_sigmoid written as Dense + separate Activation('sigmoid') "
          "layers, trained with SGD", expect_codes=("vanishing_gradients",),
          reference=_correct_mlp(1, "sigmoid", "binary_crossentropy", depth=10))
def activation_layers(k, rng, n):
    x, score = _signal(rng, n)
    y = (score[:, 0] > np.median(score)).astype("float32")
    layers = [k.Input(shape=(x.shape[1],))]
    for _ in range(10):
        layers += [k.layers.Dense(32), k.layers.Activation("sigmoid")]
    layers += [k.layers.Dense(1), k.layers.Activation("sigmoid")]
    model = k.Sequential(layers)
    model.compile(optimizer=k.optimizers.SGD(0.01), loss="binary_crossentropy")
    return model, x, y, 30, 32


@scenario("healthy", "a working model: nothing to repair", expect_status="healthy",
          reference=_correct_mlp())
def healthy(k, rng, n):
    x, y = _signal(rng, n)
    model = _mlp(k, x.shape[1])
    model.compile(optimizer="adam", loss="mse")
    return model, x, y, 50, 32


@scenario("tiny_xor", "60 rows of XOR-like data; a sigmoid hidden layer trained with SGD at 1e-3",
          expect_codes=("degenerate_predictions",),
          reference=_correct_mlp(1, "sigmoid", "binary_crossentropy", learning_rate=0.01,
                                 width=8, depth=1))
def tiny_xor(k, rng, n):
    n = 60  # a few dozen rows, whatever the caller asks for
    x = rng.uniform(-1, 1, size=(n, 2)).astype("float32")
    x += 0.2 * np.sign(x)  # a gap around the axes: the classes are cleanly separable
    y = (x[:, 0] * x[:, 1] > 0).astype("float32")
    model = _mlp(k, 2, out_activation="sigmoid", hidden_activation="sigmoid", width=8, depth=1)
    model.compile(optimizer=k.optimizers.SGD(1e-3), loss="binary_crossentropy")
    return model, x, y, 100, 8


@scenario("sgd_needs_high_lr", "plain SGD at 1e-3 on a small sigmoid network that needs about 0.1: "
          "the loss barely moves", expect_codes=("degenerate_predictions",),
          reference=_correct_mlp(1, "sigmoid", "binary_crossentropy", learning_rate=0.01,
                                 hidden_activation="sigmoid", width=16, depth=1))
def sgd_needs_high_lr(k, rng, n):
    x, score = _signal(rng, n)
    y = (score[:, 0] > np.median(score)).astype("float32")
    model = _mlp(k, x.shape[1], out_activation="sigmoid", hidden_activation="sigmoid", width=16,
                 depth=1)
    model.compile(optimizer=k.optimizers.SGD(1e-3), loss="binary_crossentropy")
    return model, x, y, 30, 128


@scenario("thousand_epochs", "1000 epochs of Adam on inputs in the tens of thousands: more "
          "epochs do not make up for unnormalized inputs", expect_codes=("unscaled_inputs",),
          reference=_correct_mlp(normalize=True, learning_rate=0.01, width=16, epochs=200))
def thousand_epochs(k, rng, n):
    n = min(n, 200)  # few rows, so that the user's 1000 epochs stay quick
    x, y = _signal(rng, n)
    x = x * np.array([1e4, 3e4, 1e4, 1e4, 2e4, 1e4], dtype="float32") \
        + np.array([5e4, 0, 2e4, 0, 1e5, 0], dtype="float32")
    model = _mlp(k, x.shape[1], width=16)
    model.compile(optimizer=k.optimizers.Adam(1e-3), loss="mse")
    # the user's run is 1000 epochs (what autofix is told, and what the benchmark times);
    # the saved weights saw the first 50 of them: as broken, and quick to make for tests
    return model, x.astype("float32"), y, 1000, 64, 50


@scenario("noise_labels", "labels independent of x: no model can learn them",
          expect_status="unrepairable", expect_codes=("degenerate_predictions",))
def noise_labels(k, rng, n):
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (rng.random(n) > 0.5).astype("float32")
    model = _mlp(k, 6, out_activation="sigmoid")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model, x, y, 30, 32


def check_names(names) -> list[str]:
    """``names`` (all scenarios when empty) when each is a scenario; else one
    :class:`~autofix.errors.InputError` line naming the unknown ones and the known."""
    names = list(names or SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise InputError(f"unknown scenario {', '.join(map(str, unknown))}; known: "
                         f"{', '.join(SCENARIOS)}")
    return names


def make_case(name: str, *, seed: int = 0, rows: int = 1000, train: bool = True,
              epochs: int | None = None, timed: bool = True) -> Case:
    """Build scenario ``name`` and train its broken model the way its user did
    (``epochs`` overrides the scenario's training length, e.g. for scale runs). ``timed``:
    also time a plain fit of the user's whole training when the saved weights saw less of
    it (the benchmark's yardstick; tests skip it)."""
    spec = SCENARIOS[name]
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model, x, y, own_epochs, batch_size, *trained = spec.make(keras, rng, rows)
    epochs = epochs or own_epochs
    seconds = 0.0
    if train:
        seconds = _train(model, x, y, trained[0] if trained else epochs, batch_size)
        if trained and trained[0] == 0:  # the user's fit raised at its first step
            seconds = 0.0  # (no training to time)
        elif trained and trained[0] != epochs and timed:  # time the training its user describes
            twin = keras.models.clone_model(model)
            twin.compile(optimizer=model.optimizer.__class__.from_config(model.optimizer.get_config()),
                         loss=model.loss)
            seconds = _train(twin, x, y, epochs, batch_size)
    return Case(name, model, x, y, epochs, batch_size, spec.expect_status, spec.expect_codes,
                seconds, spec.reference)
