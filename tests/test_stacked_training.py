"""Stacked copies: several candidates of one architecture trained in one program end where
each would have ended trained alone, each with its own learning rate, seed and stop."""

from __future__ import annotations

import numpy as np
import pytest

from autofix._backend import keras, set_seed
from autofix.training import compiled as compiled_training
from autofix.training.stacked import StackedProgram, fit_stacked, stackable
from autofix.training.training_setup import TrainingSetup

k = keras


def _data(rows=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6)).astype("float32")
    y = (x[:, :1] * 2 + np.sin(x[:, 1:2])).astype("float32")
    return x, y


def _model(seed, *, regularized=False):
    set_seed(seed)
    layers = [k.Input((6,)), k.layers.Dense(16, activation="relu")]
    if regularized:  # state that moves in training (batch statistics, dropout seeds)
        layers += [k.layers.BatchNormalization(), k.layers.Dropout(0.2)]
    layers += [k.layers.Dense(16, activation="relu",
                              kernel_regularizer="l2" if regularized else None), k.layers.Dense(1)]
    return k.Sequential(layers)


def _alone(seed, setup, x, y, **kwargs):
    model = _model(seed, regularized=kwargs.pop("regularized", False))
    program = compiled_training.program_for(model, setup, x, y)
    log = compiled_training.fit(program, model, setup, x, y, seed=seed, **kwargs)
    return model, log


@pytest.fixture(autouse=True)
def _fresh_cache():
    compiled_training.clear_cache()
    yield
    compiled_training.clear_cache()


@pytest.mark.parametrize("optimizer,config,regularized", [
    ("adam", {}, False), ("sgd", {"momentum": 0.9}, True)])
def test_each_copy_ends_where_it_would_have_ended_trained_alone(optimizer, config, regularized):
    x, y = _data()
    setup = TrainingSetup(optimizer=optimizer, optimizer_config=config, epochs=12, batch_size=32)
    rates, seeds = [1e-3, 3e-3, 1e-2], [0, 1, 2]
    held = (x[:60], y[:60])
    alone = [_alone(s, setup.replace(learning_rate=r), x, y, patience=3, validation=held,
                    regularized=regularized) for s, r in zip(seeds, rates)]
    models = [_model(s, regularized=regularized) for s in seeds]
    logs = fit_stacked(StackedProgram(models[0], setup, x, y, 3), models, setup, x, y,
                       seeds=seeds, rates=rates, patience=3, validation=held)
    for (single, single_log), model, log in zip(alone, models, logs):
        assert log.engine == "stacked"
        assert len(log.losses) == len(single_log.losses)
        assert log.best_epoch == single_log.best_epoch
        assert np.allclose(log.losses, single_log.losses, rtol=1e-3, atol=1e-5)
        for a, b in zip(single.get_weights(), model.get_weights()):
            assert np.allclose(a, b, atol=1e-4)
    # the three rates really differ: the copies did not train alike
    assert len({round(log.losses[-1], 4) for log in logs}) == 3


def test_a_diverging_copy_stops_at_its_nan_and_the_others_train_on():
    x, y = _data()
    x = x * 1e3  # unscaled inputs: a large rate blows up, a small one learns
    setup = TrainingSetup(optimizer="sgd", epochs=8, batch_size=32)
    models = [_model(0), _model(0)]
    before = float(np.mean((np.asarray(models[1](x)) - y) ** 2))
    logs = fit_stacked(StackedProgram(models[0], setup, x, y, 2), models, setup, x, y,
                       seeds=[0, 0], rates=[10.0, 1e-9])
    assert logs[0].stopped == "nonfinite" and len(logs[0].losses) == 1
    assert logs[1].stopped == "completed" and len(logs[1].losses) == 8
    after = float(np.mean((np.asarray(models[1](x)) - y) ** 2))
    assert np.isfinite(after) and after < before


def test_copies_stop_early_each_on_its_own():
    x, y = _data()
    setup = TrainingSetup(epochs=60, batch_size=32)
    models = [_model(0), _model(0)]
    logs = fit_stacked(StackedProgram(models[0], setup, x, y, 2), models, setup, x, y,
                       seeds=[0, 0], rates=[1e-1, 1e-5], patience=2, validation=(x[:60], y[:60]))
    fast, slow = logs
    assert fast.stopped == "levelled" and len(fast.losses) < 60
    assert fast.best_epoch is not None and fast.best_epoch <= len(fast.losses)
    assert "held-out loss had not improved" in fast.detail
    assert len(slow.losses) > len(fast.losses)


def test_what_cannot_be_stacked_is_said_and_what_can_is_not():
    model = _model(0)
    assert stackable(model, TrainingSetup()) is None
    assert stackable(model, TrainingSetup(optimizer="sgd")) is None
    assert "linear" in stackable(model, TrainingSetup(optimizer="ftrl"))
    assert "clipping" in stackable(model, TrainingSetup(clipnorm=1.0))
    norm = k.layers.Normalization()
    norm.adapt(np.ones((4, 6), "float32"))
    adapted = k.Sequential([k.Input((6,)), norm, k.layers.Dense(1)])
    assert "state outside its variables" in stackable(adapted, TrainingSetup())
    with pytest.raises(ValueError):
        StackedProgram(adapted, TrainingSetup(), *_data(), copies=2)
