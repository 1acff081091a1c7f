"""The textbook rebuild: fires only on a model that fails to learn, and builds, trains and
saves on the architectures users bring (MLP, Functional with separate activations and
BatchNorm, Conv2D, LSTM, Embedding + GRU)."""

import subprocess
import sys

import keras
import numpy as np
import pytest

from autofix.inputs.preparation import prepare
from autofix.search.attempt import run_attempt, train_and_judge
from autofix.search.candidate import Candidate, build
from autofix.strategies import registry

REBUILD = Candidate.of(["rebuild"])


def _problem(model, x, y, epochs=5):
    problem, _ = prepare(model, x, y, epochs=epochs, batch_size=32, seed=0)
    return problem


def _initializer(layer, key="kernel_initializer"):
    value = layer.get_config()[key]
    return value["class_name"] if isinstance(value, dict) else value


def _train_briefly(problem, epochs=3):
    """Build the rebuild and train it a few epochs (its own 300 are for real repairs)."""
    draft = build(REBUILD, problem, registry())
    draft.setup = draft.setup.replace(epochs=epochs)
    draft.callbacks = []
    attempt = train_and_judge(REBUILD, draft, problem)
    assert attempt.model is not None, attempt.reason
    return draft, attempt


def test_rebuild_fires_on_a_failing_model_only(diagnosed):
    strategy = registry()["rebuild"]
    assert strategy.standalone and "degenerate_predictions" in strategy.answers
    # it starts over from the user's model, so it comes first in any candidate it is part
    # of, and training strategies (a measured learning rate, keras-tuner) may follow it
    assert strategy.order < min(s.order for s in registry().values() if not s.standalone)
    problem, diagnosis = diagnosed("zero_init")
    assert strategy.applies(problem, diagnosis.findings)
    for healthy in ("healthy", "healthy_classifier"):
        problem, diagnosis = diagnosed(healthy)
        assert not strategy.applies(problem, diagnosis.findings)


def test_rebuild_is_quiet_when_only_the_saved_weights_are_bad(diagnosed):
    # the user's own setup retrained learns: retraining it is the answer, not a rebuild
    problem, diagnosis = diagnosed("stale_weights")
    assert any(f.code == "degenerate_predictions" for f in diagnosis.findings)
    assert registry()["retrain"].applies(problem, diagnosis.findings)
    assert not registry()["rebuild"].applies(problem, diagnosis.findings)


def test_rebuild_records_what_it_changed_on_a_broken_regressor(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(300, 5)) * [1, 1000, 1, 1, 50]).astype("float32")
    y = (2e5 + 3e4 * (x[:, 0] - x[:, 1] / 1000)).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)),
                              keras.layers.Dense(16, activation="relu", kernel_initializer="zeros",
                                                 trainable=False),
                              keras.layers.Dense(1, activation="relu")])
    model.compile(optimizer=keras.optimizers.SGD(5.0), loss="mae")
    problem = _problem(model, x, y)
    draft = build(REBUILD, problem, registry())
    assert draft.params["rebuild"] == [
        "fresh init", "all layers trainable", "output: linear over 1",
        "loss: mean_squared_error", "normalization", "targets standardized", "adam 1e-3",
        "early stopping <= 300 epochs"]
    setup = draft.setup
    assert (setup.optimizer, setup.learning_rate, setup.loss, setup.clipnorm) == \
        ("Adam", 1e-3, "mean_squared_error", None)
    assert setup.epochs == 300 and setup.early_stopping and not setup.from_logits
    hidden, head = draft.core.layers
    assert hidden.trainable and head.trainable
    assert _initializer(hidden) == "HeNormal" and _initializer(head) == "GlorotUniform"
    assert head.get_config()["activation"] == "linear"
    assert [type(layer).__name__ for layer in draft.preprocess] == ["Normalization"]
    assert [type(layer).__name__ for layer in draft.postprocess] == ["Rescaling"]
    scaled = draft.training_targets(problem.y)
    assert abs(float(scaled.mean())) < 1e-4 and abs(float(scaled.std()) - 1) < 1e-4
    # the user's model is untouched
    assert not model.layers[0].trainable and model.layers[-1].get_config()["activation"] == "relu"


def test_rebuild_starts_from_the_users_architecture_whatever_came_before(diagnosed):
    problem, _ = diagnosed("zero_init")
    alone = build(REBUILD, problem, registry())
    after = build(Candidate.of(["normalize_inputs", "rescale_targets", "extend_training",
                                "rebuild"]), problem, registry())
    assert len(after.preprocess) == len(alone.preprocess) == 1
    assert len(after.postprocess) == len(alone.postprocess) == 1
    assert len(after.callbacks) == len(alone.callbacks)
    assert after.params["rebuild"] == alone.params["rebuild"]
    assert after.setup == alone.setup


def test_rebuild_repairs_a_zero_initialized_mlp(diagnosed):
    problem, _ = diagnosed("zero_init")
    attempt = run_attempt(REBUILD, problem, registry())
    assert not attempt.degenerate, attempt.reason
    assert attempt.metric > 0.5
    assert 1 < attempt.log.epochs_run <= 300
    assert attempt.params["rebuild"][0] == "fresh init"


def _functional_bn_model():
    inputs = keras.Input((6,))
    h = keras.layers.Dense(16, kernel_initializer="zeros", trainable=False)(inputs)
    h = keras.layers.BatchNormalization(gamma_initializer="zeros")(h)
    h = keras.layers.Activation("relu")(h)
    h = keras.layers.Dense(3)(h)  # a three-unit head on a binary task
    outputs = keras.layers.Activation("relu")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_rebuild_on_functional_with_separate_activations_and_batchnorm():
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(300, 6)) * 1000).astype("float32")
    y = (x[:, 0] - x[:, 1] > 0).astype("int64")
    keras.utils.set_random_seed(0)
    problem = _problem(_functional_bn_model(), x, y)
    draft = build(REBUILD, problem, registry())
    layers = {type(layer).__name__ + str(i): layer for i, layer in enumerate(draft.core.layers)}
    dense = [layer for layer in draft.core.layers if isinstance(layer, keras.layers.Dense)]
    batchnorm = next(layer for layer in draft.core.layers
                     if isinstance(layer, keras.layers.BatchNormalization))
    assert _initializer(dense[0]) == "HeNormal"  # Dense -> BatchNorm -> ReLU is a ReLU block
    assert _initializer(dense[1]) == "GlorotUniform"  # the head
    assert _initializer(batchnorm, "gamma_initializer") == "Ones"
    assert all(layer.trainable for layer in layers.values())
    # a head at least as wide as the class ids is kept (output unit k = class k; the unused
    # third unit learns to stay at 0): softmax over it, with the loss for integer ids
    assert draft.output_units == 3 and draft.setup.loss == "sparse_categorical_crossentropy"
    assert "output: softmax over 3" in draft.params["rebuild"]
    _, attempt = _train_briefly(problem)
    assert attempt.verdict is not None


def _conv_case(rng):
    x = rng.normal(size=(240, 8, 8, 1)).astype("float32")
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype("float32")
    model = keras.Sequential([keras.Input((8, 8, 1)),
                              keras.layers.Conv2D(4, 3, activation="relu", kernel_initializer="zeros"),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="softmax")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model, x, y


def _lstm_case(rng):
    x = rng.normal(size=(240, 10, 3)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) * 100 + 5000).astype("float32")
    model = keras.Sequential([keras.Input((10, 3)), keras.layers.LSTM(8),
                              keras.layers.Dense(1, activation="relu")])
    model.compile(optimizer=keras.optimizers.SGD(10.0), loss="mse")
    return model, x, y


def _mlp_case(rng):
    x = rng.normal(size=(240, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)]
    model = keras.Sequential([keras.Input((4,)),
                              keras.layers.Dense(8, activation="relu", bias_initializer="ones"),
                              keras.layers.Dense(3, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="mse")
    return model, x, y


def _embedding_case(rng):
    ids = rng.integers(0, 20, size=(240, 6)).astype("float32")  # ids stored as floats
    y = ((ids < 10).sum(axis=1) > 3).astype("float32")
    model = keras.Sequential([keras.Input((6,)),
                              keras.layers.Embedding(20, 4, embeddings_initializer="zeros"),
                              keras.layers.GRU(4), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="mse")
    return model, ids, y


CASES = {"mlp": (_mlp_case, "output: softmax over 3", "loss: categorical_crossentropy"),
         "conv2d": (_conv_case, "output: sigmoid over 1", "loss: binary_crossentropy"),
         "lstm": (_lstm_case, "output: linear over 1", "loss: mean_squared_error"),
         "embedding": (_embedding_case, "output: sigmoid over 1", "loss: binary_crossentropy")}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Each architecture rebuilt, trained a few epochs and saved: name -> (path, x, pred)."""
    folder = tmp_path_factory.mktemp("rebuilt")
    out = {}
    for name, (make, output, loss) in CASES.items():
        keras.utils.set_random_seed(0)
        model, x, y = make(np.random.default_rng(0))
        problem = _problem(model, x, y)
        draft, attempt = _train_briefly(problem)
        assert output in draft.params["rebuild"] and loss in draft.params["rebuild"]
        assert ("normalization" in draft.params["rebuild"]) == (name != "embedding")
        path = folder / f"{name}.keras"
        attempt.model.save(path)
        sample = problem.x_val[:8]
        out[name] = (path, sample, attempt.model.predict(sample, verbose=0))
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_rebuild_builds_trains_and_saves(name, saved):
    path, sample, pred = saved[name]
    assert np.all(np.isfinite(pred))
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(sample, verbose=0), pred, rtol=1e-5, atol=1e-5)


def test_rebuilt_models_load_in_plain_keras_without_autofix(saved, tmp_path):
    script = (
        "import sys, numpy as np, keras\n"
        "for path, data in zip(sys.argv[1::2], sys.argv[2::2]):\n"
        "    sample = np.load(data)\n"
        "    pred = keras.models.load_model(path).predict(sample, verbose=0)\n"
        "    np.save(data.replace('.npy', '.out.npy'), pred)\n"
        "assert 'autofix' not in sys.modules\n")
    argv = []
    for name, (path, sample, _) in saved.items():
        data = tmp_path / f"{name}.npy"
        np.save(data, sample)
        argv += [str(path), str(data)]
    done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    for name, (_, _, pred) in saved.items():
        np.testing.assert_allclose(np.load(tmp_path / f"{name}.out.npy"), pred, rtol=1e-5,
                                   atol=1e-5)


def test_rebuild_with_normalize_inputs_adds_one_normalization():
    """A candidate that names both (a forced strategy list, the blind search) normalizes
    once: two layers named autofix_normalization would not even build."""
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(200, 3)) * [1, 100, 1e4]).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    candidate = Candidate.of(["rebuild", "normalize_inputs"])
    draft = build(candidate, _problem(model, x, y), registry())
    assert [layer.name for layer in draft.preprocess] == ["autofix_normalization"]
    assert draft.assemble(x.shape[1:]).predict(x[:4], verbose=0).shape == (4, 1)
