"""The online DegenerationMonitor callback: fires on collapse, quiet on a healthy fit."""

import warnings

import keras
import numpy as np

from autofix.callbacks import DegenerationMonitor


def _data(n=400):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5)).astype("float32")
    y = (x[:, 0] - 2 * x[:, 1]).astype("float32")
    return x, y


def _model(**dense):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(16, activation="relu", **dense),
                             keras.layers.Dense(1, **dense)])


def _fit(model, monitor, epochs=12, lr=1e-2, optimizer=keras.optimizers.Adam):
    x, y = _data()
    model.compile(optimizer=optimizer(lr), loss="mse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[monitor])
    return history, [str(w.message) for w in caught if "autofix" in str(w.message)]


def test_quiet_on_a_healthy_fit():
    x, _ = _data()
    monitor = DegenerationMonitor(x[:128], max_overhead=1.0)
    _, caught = _fit(_model(), monitor)
    assert monitor.findings == [] and caught == []


def test_constant_predictions_warn_and_stop():
    x, _ = _data()
    monitor = DegenerationMonitor(x[:128], stop_training=True, patience=2, max_overhead=1.0)
    history, caught = _fit(_model(kernel_initializer="zeros"), monitor, epochs=20)
    codes = {f.code for f in monitor.findings}
    assert "degenerate_predictions" in codes or "dead_units" in codes
    assert len(history.history["loss"]) < 20  # stopped early
    assert caught and "autofix repair" in caught[0]


def test_nan_loss_is_reported():
    x, _ = _data()
    monitor = DegenerationMonitor(x[:128], stop_training=True, max_overhead=1.0)
    _fit(_model(), monitor, lr=1e6, optimizer=keras.optimizers.SGD)
    assert "nonfinite_loss" in {f.code for f in monitor.findings}


def test_dead_relu_layer_is_reported():
    x, _ = _data()
    monitor = DegenerationMonitor(x[:128], max_overhead=1.0, verbose=False)
    _fit(_model(bias_initializer=keras.initializers.Constant(-20.0)), monitor, epochs=4)
    assert "dead_units" in {f.code for f in monitor.findings}
