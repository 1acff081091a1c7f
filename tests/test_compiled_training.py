"""The compiled training program: it trains as Keras would, deterministically per seed, one
trace per architecture, and hands anything it cannot train to Keras' fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autofix._backend import keras
from autofix.training import compiled as compiled_training
from autofix.training.fit import SETTINGS, fit
from autofix.training.lr_finder import range_test
from autofix.training.training_setup import TrainingSetup

k = keras


def _data(rows=400, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(rows, 6)) * scale).astype("float32")
    y = (x[:, 0] / scale - 0.5 * x[:, 1] / scale).reshape(-1, 1).astype("float32")
    return x, y


def _model(seed=0, normalization=None, activation="relu", dropout=0.0):
    k.utils.set_random_seed(seed)
    layers = [k.Input((6,))]
    if normalization is not None:
        norm = k.layers.Normalization()
        norm.adapt(normalization)
        layers.append(norm)
    layers += [k.layers.Dense(16, activation=activation)]
    if dropout:
        layers.append(k.layers.Dropout(dropout))
    layers += [k.layers.Dense(1)]
    return k.Sequential(layers)


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def _mse(model, x, y):
    return float(np.mean((np.asarray(model(x)) - y) ** 2))


@pytest.fixture(autouse=True)
def _fresh_cache():
    compiled_training.clear_cache()
    yield
    compiled_training.clear_cache()


def test_it_trains_a_model_as_keras_does_and_says_so():
    x, y = _data()
    model = _model()
    before = _mse(model, x, y)
    log = fit(model, TrainingSetup(epochs=30, batch_size=32), x, y)
    assert log.engine == "compiled" and log.stopped == "completed"
    assert log.epochs_run == 30 and len(log.epoch_seconds) == 30
    assert log.losses[-1] < 0.1 * log.losses[0]
    assert _mse(model, x, y) < 0.1 * before
    assert log.update_ratio is not None and log.initial_loss is not None

    # the same training through Keras' fit reaches the same quality
    keras_model = _model()
    SETTINGS.compiled = False
    try:
        keras_log = fit(keras_model, TrainingSetup(epochs=30, batch_size=32), x, y)
    finally:
        SETTINGS.compiled = True
    assert keras_log.engine == "lean"
    assert _mse(model, x, y) < 2 * _mse(keras_model, x, y) + 1e-3


def test_results_are_deterministic_per_seed_and_differ_across_seeds():
    x, y = _data()
    runs = []
    for seed in (3, 3, 4):
        model = _model(dropout=0.2)
        fit(model, TrainingSetup(epochs=5), x, y, seed=seed)
        runs.append(_weights(model))
    assert all(np.array_equal(a, b) for a, b in zip(runs[0], runs[1]))
    assert not all(np.array_equal(a, b) for a, b in zip(runs[0], runs[2]))


def test_one_trace_serves_every_model_of_an_architecture_without_leaking_state():
    x, y = _data()
    first, second = _model(seed=1), _model(seed=2)
    fit(first, TrainingSetup(epochs=5, learning_rate=1e-2), x, y)
    program = compiled_training.program_for(second, TrainingSetup(epochs=5), x, y)
    assert compiled_training.program_for(first, TrainingSetup(learning_rate=0.5), x, y) is program
    fit(second, TrainingSetup(epochs=5, learning_rate=1e-3), x, y)
    reused = _weights(second)

    compiled_training.clear_cache()  # the same run on a fresh program: the same weights
    again = _model(seed=2)
    fit(again, TrainingSetup(epochs=5, learning_rate=1e-3), x, y)
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(reused, _weights(again)))

    other = _model(activation="tanh")
    assert compiled_training.program_for(other, TrainingSetup(), x, y) is not program


def test_an_adapted_normalization_is_the_models_own_even_through_a_shared_trace():
    x, y = _data(scale=1000.0)
    shifted = x + 5000.0
    a = _model(normalization=x)
    b = _model(normalization=shifted)  # same architecture, other statistics
    fit(a, TrainingSetup(epochs=20, learning_rate=1e-2), x, y)
    fit(b, TrainingSetup(epochs=20, learning_rate=1e-2), shifted, y)
    assert _mse(a, x, y) < 0.05 and _mse(b, shifted, y) < 0.05
    assert np.allclose(b.layers[0].mean, shifted.mean(axis=0), rtol=1e-3)


def test_early_stopping_keeps_the_best_epoch_on_held_out_rows():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 6)).astype("float32")
    y = rng.normal(size=(60, 1)).astype("float32")  # pure noise: held-out loss rises
    model = _model()
    log = fit(model, TrainingSetup(epochs=300, early_stopping=True, learning_rate=1e-2),
              x[:40], y[:40], validation=(x[40:], y[40:]))
    assert log.stopped == "levelled" and log.epochs_run < 300
    assert log.best_epoch is not None and log.best_epoch < log.epochs_run
    assert "had not improved since epoch" in log.detail


def test_a_diverging_run_stops_at_the_first_nan():
    x, y = _data(scale=1e4)
    log = fit(_model(), TrainingSetup(epochs=50, learning_rate=1e3, optimizer="SGD"), x, y)
    assert log.stopped == "nonfinite" and not log.finite
    assert log.epochs_run < 50


def test_a_stuck_candidate_is_stopped_and_a_healthy_one_is_not():
    x, y = _data()
    dead = _model()
    for layer in dead.layers:
        layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    log = fit(dead, TrainingSetup(epochs=60, learning_rate=1e-9), x, y)
    assert log.stopped == "stuck" and log.epochs_run < 60
    assert fit(_model(), TrainingSetup(epochs=60), x, y).stopped == "completed"


def test_a_deadline_in_the_past_ends_after_one_epoch():
    x, y = _data()
    log = fit(_model(), TrainingSetup(epochs=100), x, y, deadline=0.0)
    assert log.stopped == "time" and log.epochs_run == 1


def test_sample_weights_count():
    x, y = _data()
    y_bad = y.copy()
    y_bad[200:] = 100.0  # rows that a zero weight must make irrelevant
    weights = np.r_[np.ones(200), np.zeros(200)].astype("float32")
    model = _model()
    fit(model, TrainingSetup(epochs=40, learning_rate=1e-2), x, y_bad, sample_weight=weights)
    assert _mse(model, x[:200], y[:200]) < 0.1


def test_keras_callbacks_and_untraceable_models_go_through_keras_fit():
    x, y = _data()
    seen = []
    log = fit(_model(), TrainingSetup(epochs=3), x, y,
              extra_callbacks=[k.callbacks.LambdaCallback(on_epoch_end=lambda e, l: seen.append(e))])
    assert log.engine == "lean" and seen == [0, 1, 2]

    class Doubling(k.layers.Layer):  # no get_config override: no architecture key
        def call(self, inputs):
            return 2 * inputs

        def get_config(self):
            raise NotImplementedError

    k.utils.set_random_seed(0)
    custom = k.Sequential([k.Input((6,)), Doubling(), k.layers.Dense(1)])
    log = fit(custom, TrainingSetup(epochs=3), x, y)
    assert log.engine == "lean" and log.stopped == "completed"


def test_a_failing_run_reports_keras_own_error():
    x, _ = _data()
    k.utils.set_random_seed(0)
    model = k.Sequential([k.Input((6,)), k.layers.Dense(3, activation="softmax")])
    labels = np.full(len(x), 7, dtype="int32")  # ids beyond the 3 units
    log = fit(model, TrainingSetup(loss="sparse_categorical_crossentropy", epochs=2), x, labels)
    assert log.stopped in ("error", "nonfinite")
    if log.stopped == "error":
        assert "7" in log.detail


def test_progress_hears_every_epoch():
    x, y = _data()
    heard = []
    fit(_model(), TrainingSetup(epochs=7), x, y, on_epoch=lambda e, n, loss: heard.append((e, n)))
    assert heard == [(e, 7) for e in range(1, 8)]


def test_the_compiled_range_test_agrees_with_keras_and_leaves_the_weights():
    x, y = _data()
    model = _model()
    before = _weights(model)
    compiled = range_test(model, TrainingSetup(), x, y)
    assert all(np.array_equal(a, b) for a, b in zip(before, _weights(model)))
    SETTINGS.compiled = False
    try:
        reference = range_test(model, TrainingSetup(), x, y)
    finally:
        SETTINGS.compiled = True
    assert compiled.suggestion is not None and reference.suggestion is not None
    assert abs(math.log10(compiled.suggestion / reference.suggestion)) < 1.0
    assert compiled.stopped == "diverged" and len(compiled.losses) < 300


def my_loss(y_true, y_pred):  # a custom loss its user never registered with Keras
    return k.ops.mean(k.ops.square(k.ops.cast(y_true, y_pred.dtype) - y_pred), axis=-1)


def test_two_own_loss_functions_of_one_name_get_their_own_programs():
    x, y = _data()

    def halved(y_true, y_pred):
        return 0.5 * my_loss(y_true, y_pred)

    halved.__name__ = "my_loss"
    first = TrainingSetup(loss="my_loss", custom_loss=my_loss)
    second = TrainingSetup(loss="my_loss", custom_loss=halved)
    model = _model()
    assert (compiled_training.program_for(model, first, x, y)
            is not compiled_training.program_for(model, second, x, y))
    assert compiled_training.program_for(model, first, x, y) is compiled_training.program_for(
        _model(seed=5), first, x, y)


def test_a_model_compiled_with_its_own_loss_function_is_repaired_with_it(tmp_path):
    import warnings

    import autofix

    x, y = _data(rows=300)
    y = 300 * y[:, 0]  # targets far outside a sigmoid's range
    k.utils.set_random_seed(0)
    model = k.Sequential([k.Input((6,)), k.layers.Dense(16, activation="relu"),
                          k.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss=my_loss)
    model.fit(x, y, epochs=2, verbose=0)
    result = autofix.repair(model, x, y, epochs=2, budget=30)
    assert result.status == "repaired"
    first = result.attempts[0]
    assert first.params["loss"] == "my_loss" and first.log.engine == "compiled"
    assert result.report()["attempts"][0]["engine"] == "compiled"

    # the fixed model is saved with a built optimizer: plain Keras loads it without a warning
    path = tmp_path / "fixed.keras"
    result.save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        k.models.load_model(path, custom_objects={"my_loss": my_loss})
    assert not [w for w in caught if "optimizer" in str(w.message)]


def _sequences(rows=300, steps=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, steps, 1)).astype("float32")
    y = x[:, -3:, 0].sum(axis=1, keepdims=True).astype("float32")
    return x, y


def _recurrent(extra=None):
    k.utils.set_random_seed(0)
    layers = [k.Input((12, 1))] + ([extra] if extra is not None else [])
    return k.Sequential(layers + [k.layers.GRU(8), k.layers.Dense(1)])


def test_recurrent_models_train_with_xla_steps_and_others_without():
    x, y = _sequences()
    assert compiled_training.wants_xla(_recurrent())
    assert not compiled_training.wants_xla(_model())
    model = _recurrent()
    before = _mse(model, x, y)
    log = fit(model, TrainingSetup(epochs=15, batch_size=32, learning_rate=1e-2), x, y, seed=1)
    assert log.engine == "compiled-xla" and log.stopped == "completed"
    assert _mse(model, x, y) < 0.5 * before
    again = _recurrent()  # the choice hangs on the model alone: one seed, one result
    fit(again, TrainingSetup(epochs=15, batch_size=32, learning_rate=1e-2), x, y, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(_weights(model), _weights(again)))
    dense = fit(_model(), TrainingSetup(epochs=2), *_data())
    assert dense.engine == "compiled"


class _ThroughNumPy(k.layers.Layer):
    """A layer that runs a NumPy function: TensorFlow runs it, XLA cannot compile it."""

    def call(self, inputs):
        import tensorflow as tf

        out = tf.numpy_function(lambda a: a, [inputs], "float32", stateful=False)
        return tf.ensure_shape(out, inputs.shape)


def test_a_step_xla_cannot_compile_trains_in_the_plain_program():
    x, y = _sequences()
    model = _recurrent(_ThroughNumPy())
    log = fit(model, TrainingSetup(epochs=3, batch_size=32), x, y)
    assert log.engine == "compiled" and log.stopped == "completed", log.detail
    assert all(math.isfinite(v) for v in log.losses)
