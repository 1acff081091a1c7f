"""Every registered strategy on a zoo of architectures users bring.

Each zoo model is small, with 64 rows of data and the matching ``Problem``. For every
strategy (``tune_training`` aside: it runs a search) and every zoo model, the candidate
builds, trains for one epoch, its deployed model saves to ``.keras`` and reloads with
plain Keras giving the same predictions, and the user's model is unchanged. A strategy
that does not apply to a model (``rescale_targets`` on classes) must still build.
"""

import keras
import numpy as np
import pytest

from autofix.inputs.preparation import prepare
from autofix.search.candidate import Candidate, build
from autofix.strategies import registry
from autofix.training.fit import encode_targets

ROWS = 64
STRATEGIES = [name for name in registry() if name != "tune_training"]


def _regression(x):
    flat = x.reshape(len(x), -1).astype("float64")
    return (flat[:, 0] - 0.5 * flat[:, -1] + 0.1 * flat.sum(axis=1)).astype("float32")


def _binary(x):
    y = _regression(x)
    return (y > np.median(y)).astype("float32")


def _ids(x, k=3):
    y = _regression(x)
    return np.digitize(y, np.quantile(y, np.linspace(0, 1, k + 1)[1:-1])).astype("int64")


def _mlp(k, rng):
    x = rng.normal(size=(ROWS, 6)).astype("float32")
    model = keras.Sequential([k.Input((6,)), k.layers.Dense(16, activation="relu"),
                              k.layers.Dense(8, activation="tanh"), k.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model, x, _regression(x)


def _branches(k, rng):
    x = rng.normal(size=(ROWS, 6)).astype("float32")
    inputs = k.Input((6,))
    a = k.layers.Dense(8, activation="relu", name="branch_a")(inputs)
    b = k.layers.Dense(8, activation="sigmoid", name="branch_b")(inputs)
    h = k.layers.Concatenate()([a, b])
    out = k.layers.Dense(1, activation="sigmoid")(h)
    model = k.Model(inputs, out)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model, x, _binary(x)


def _activation_layers(k, rng):
    x = rng.normal(size=(ROWS, 6)).astype("float32")
    model = k.Sequential([k.Input((6,)), k.layers.Dense(16), k.layers.Activation("sigmoid"),
                          k.layers.Dense(16), k.layers.ReLU(), k.layers.Dense(3),
                          k.layers.Softmax()])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model, x, _ids(x)


def _batchnorm(k, rng):
    x = rng.normal(size=(ROWS, 6)).astype("float32")
    model = k.Sequential([k.Input((6,)), k.layers.Dense(16), k.layers.BatchNormalization(),
                          k.layers.Activation("relu"), k.layers.Dense(8, activation="tanh"),
                          k.layers.BatchNormalization(), k.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model, x, _regression(x)


def _conv1d(k, rng):
    x = rng.normal(size=(ROWS, 16, 3)).astype("float32")
    model = k.Sequential([k.Input((16, 3)), k.layers.Conv1D(8, 3, activation="relu"),
                          k.layers.MaxPooling1D(2), k.layers.Conv1D(4, 3, activation="tanh"),
                          k.layers.Flatten(), k.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model, x, _binary(x)


def _conv2d(k, rng):
    x = rng.normal(size=(ROWS, 8, 8, 1)).astype("float32")
    model = k.Sequential([k.Input((8, 8, 1)), k.layers.Conv2D(4, 3, activation="relu"),
                          k.layers.MaxPooling2D(2), k.layers.Flatten(),
                          k.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model, x, np.eye(3, dtype="float32")[_ids(x)]


def _lstm(k, rng):
    x = rng.normal(size=(ROWS, 10, 2)).astype("float32")
    model = k.Sequential([k.Input((10, 2)), k.layers.LSTM(8), k.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model, x, _regression(x)


def _gru(k, rng):
    x = rng.normal(size=(ROWS, 10, 2)).astype("float32")
    model = k.Sequential([k.Input((10, 2)), k.layers.GRU(8),
                          k.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model, x, _binary(x)


def _embedding(k, rng):
    x = rng.integers(0, 50, size=(ROWS, 8)).astype("int32")
    model = k.Sequential([k.Input((8,), dtype="int32"), k.layers.Embedding(50, 8),
                          k.layers.GlobalAveragePooling1D(), k.layers.Dense(8, activation="relu"),
                          k.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model, x, _regression(x.astype("float32") / 50)


ZOO = {"mlp": _mlp, "branches": _branches, "activation_layers": _activation_layers,
       "batchnorm": _batchnorm, "conv1d": _conv1d, "conv2d": _conv2d, "lstm": _lstm,
       "gru": _gru, "embedding": _embedding}


@pytest.fixture(scope="module")
def zoo():
    """Each zoo model built once for the module: (problem, weights, config) by name."""
    built = {}

    def get(name):
        if name not in built:
            keras.utils.set_random_seed(0)
            model, x, y = ZOO[name](keras, np.random.default_rng(0))
            problem, _ = prepare(model, x, y, epochs=2, batch_size=16)
            problem.findings = []
            built[name] = (problem, [w.copy() for w in model.get_weights()], model.get_config())
        return built[name]

    return get


def _out(model, x):
    return np.asarray(model(x, training=False))


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("model_name", list(ZOO))
def test_strategy_builds_trains_and_saves_on_every_architecture(model_name, strategy, zoo,
                                                                tmp_path):
    problem, weights, config = zoo(model_name)
    draft = build(Candidate.of([strategy]), problem, registry())

    trainable = draft.assemble(problem.input_shape, for_training=True)
    # eager: one epoch of a tiny model runs faster than tracing it
    trainable.compile(optimizer=draft.setup.make_optimizer(), loss=draft.setup.make_loss(),
                      run_eagerly=True)
    y = encode_targets(problem.task, draft.setup, draft.training_targets(problem.y),
                       draft.output_units)
    history = trainable.fit(problem.x, y, epochs=1, batch_size=len(y), verbose=0,
                            class_weight=draft.setup.class_weight)
    assert np.isfinite(history.history["loss"][-1])

    deployed = draft.assemble(problem.input_shape)
    assert deployed is not problem.model
    path = tmp_path / f"{model_name}-{strategy}.keras"
    deployed.save(path)
    loaded = keras.models.load_model(path)
    x = problem.x_val[:8]
    np.testing.assert_allclose(_out(loaded, x), _out(deployed, x), rtol=1e-5, atol=1e-5)

    assert problem.model.get_config() == config
    after = problem.model.get_weights()
    assert len(after) == len(weights)
    for before, now in zip(weights, after):
        np.testing.assert_array_equal(before, now)


# --- what the architecture surgery changes, layer by layer -----------------------------

def _problem(model, x, y):
    problem, _ = prepare(model, x, y, epochs=2, batch_size=16)
    problem.findings = []
    return problem


def _layer(model, name):
    return next(layer for layer in model.layers if layer.name == name)


def test_fix_vanishing_gradients_changes_the_layer_that_applies_the_activation():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, 6)).astype("float32")
    inputs = keras.Input((6,))
    h = keras.layers.Dense(16, name="pre")(inputs)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.Activation("sigmoid", name="squash")(h)
    h = keras.layers.Dense(16, activation="tanh", name="dense_tanh")(h)
    h = keras.layers.ReLU(name="relu_layer")(h)
    outputs = keras.layers.Activation("sigmoid", name="head_act")(keras.layers.Dense(1, name="head")(h))
    model = keras.Model(inputs, outputs)
    problem = _problem(model, x, _binary(x))
    draft = build(Candidate.of(["fix_vanishing_gradients"]), problem, registry())
    core = draft.core
    assert _layer(core, "squash").get_config()["activation"] == "relu"
    assert _layer(core, "pre").get_config()["kernel_initializer"]["class_name"] == "HeNormal"
    assert _layer(core, "pre").get_config()["activation"] == "linear"
    assert _layer(core, "dense_tanh").get_config()["activation"] == "relu"
    assert _layer(core, "dense_tanh").get_config()["kernel_initializer"]["class_name"] == "HeNormal"
    assert _layer(core, "head_act").get_config()["activation"] == "sigmoid"  # the output stays
    assert type(_layer(core, "relu_layer")).__name__ == "ReLU"
    assert draft.params["relu_layers"] == 2


def test_fix_vanishing_gradients_leaves_recurrent_gates_and_relu_models_alone():
    for name in ("lstm", "gru", "mlp"):
        keras.utils.set_random_seed(0)
        model, x, y = ZOO[name](keras, np.random.default_rng(0))
        draft = build(Candidate.of(["fix_vanishing_gradients"]), _problem(model, x, y), registry())
        for layer in draft.core.layers:
            config = layer.get_config()
            if "recurrent_activation" in config:
                assert config["activation"] == "tanh"
                assert config["recurrent_activation"] == "sigmoid"


NARROW = {
    "dense": lambda k: [k.layers.Flatten(), k.layers.Dense(1), k.layers.Dense(32, activation="relu")],
    "separate_activation": lambda k: [k.layers.Flatten(), k.layers.Dense(2), k.layers.Activation("relu")],
    "conv1d": lambda k: [k.layers.Reshape((16, 3)), k.layers.Conv1D(1, 3, activation="relu"),
                         k.layers.GlobalAveragePooling1D()],
    "conv2d": lambda k: [k.layers.Reshape((4, 4, 3)), k.layers.Conv2D(1, 3, activation="relu"),
                         k.layers.GlobalMaxPooling2D()],
    "lstm": lambda k: [k.layers.Reshape((16, 3)), k.layers.LSTM(1)],
    "gru": lambda k: [k.layers.Reshape((16, 3)), k.layers.GRU(2)],
}


@pytest.mark.parametrize("kind", list(NARROW))
def test_widen_bottleneck_widens_the_narrow_layer_whatever_its_kind(kind, tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, 48)).astype("float32")
    y = _ids(x, 5)
    model = keras.Sequential([keras.Input((48,)), *NARROW[kind](keras),
                              keras.layers.Dense(5, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    problem = _problem(model, x, y)
    draft = build(Candidate.of(["widen_bottleneck"]), problem, registry())
    (name, width), = draft.params["widened"].items()
    assert width >= 16
    layer = _layer(draft.core, name)
    key = "filters" if "conv" in kind else "units"
    assert layer.get_config()[key] == width
    assert _layer(problem.model, name).get_config()[key] <= 2  # the user's model is unchanged
    out = draft.assemble(problem.input_shape)
    assert np.asarray(out(x[:4])).shape == (4, 5)
    out.save(tmp_path / "wide.keras")


def test_widen_bottleneck_leaves_funnels_and_embeddings_of_sane_width_alone():
    keras.utils.set_random_seed(0)
    for model_name, make in ZOO.items():
        model, x, y = make(keras, np.random.default_rng(0))
        draft = build(Candidate.of(["widen_bottleneck"]), _problem(model, x, y), registry())
        assert draft.params["widened"] == {}, model_name
    funnel = keras.Sequential([keras.Input((30,)), keras.layers.Dense(64, activation="relu"),
                               keras.layers.Dense(32, activation="relu"),
                               keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    autoencoderish = keras.Sequential([keras.Input((30,)), keras.layers.Dense(16, activation="relu"),
                                       keras.layers.Dense(4, activation="relu"),
                                       keras.layers.Dense(16, activation="relu"),
                                       keras.layers.Dense(3, activation="softmax")])
    from autofix.model.surgery import bottlenecks

    assert bottlenecks(funnel) == [] and bottlenecks(autoencoderish) == []


def test_widen_bottleneck_rebuilds_a_narrow_embedding():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).integers(0, 50, size=(ROWS, 8)).astype("int32")
    y = _ids(x.astype("float32"), 4)
    model = keras.Sequential([keras.Input((8,), dtype="int32"), keras.layers.Embedding(50, 1),
                              keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(4, activation="softmax")])
    draft = build(Candidate.of(["widen_bottleneck"]), _problem(model, x, y), registry())
    (name, width), = draft.params["widened"].items()
    assert _layer(draft.core, name).get_config()["output_dim"] == width == 16


def _frozen_variants():
    k = keras
    per_layer = k.Sequential([k.Input((6,)), k.layers.Dense(8, trainable=False),
                              k.layers.BatchNormalization(trainable=False),
                              k.layers.Dense(1, trainable=False)])
    whole = k.Sequential([k.Input((6,)), k.layers.Dense(8), k.layers.Dense(1)])
    whole.trainable = False
    base = k.Sequential([k.Input((6,)), k.layers.Dense(8), k.layers.Dense(8)], name="base")
    base.trainable = False
    inputs = k.Input((6,))
    nested = k.Model(inputs, k.layers.Dense(1)(base(inputs)))
    return {"per_layer": per_layer, "whole_model": whole, "nested_base": nested}


@pytest.mark.parametrize("variant", ["per_layer", "whole_model", "nested_base"])
def test_unfreeze_layers_makes_every_weight_trainable(variant):
    keras.utils.set_random_seed(0)
    model = _frozen_variants()[variant]
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(ROWS, 6)).astype("float32")
    problem = _problem(model, x, _regression(x))
    frozen_before = len(model.trainable_weights)
    draft = build(Candidate.of(["unfreeze_layers"]), problem, registry())
    core = draft.core
    assert draft.params["unfrozen_layers"]
    from autofix.model.anatomy import parameter_layers

    assert all(trains for _, _, trains in parameter_layers(core))
    expected = sum(count for _, count, _ in parameter_layers(model))
    assert sum(int(np.prod(v.shape)) for v in core.trainable_weights) == expected
    assert len(model.trainable_weights) == frozen_before  # the user's model stays frozen


def test_surgery_keeps_a_frozen_pretrained_block():
    from autofix.model.surgery import clone_changing, clone_keeping_frozen

    keras.utils.set_random_seed(0)
    model = _frozen_variants()["nested_base"]
    pretrained = [w.copy() for w in _layer(model, "base").get_weights()]
    clone = clone_keeping_frozen(model)
    for a, b in zip(pretrained, _layer(clone, "base").get_weights()):
        np.testing.assert_array_equal(a, b)

    class Holder:
        core = clone

    head = model.layers[-1].name
    clone_changing(Holder, {head: {"units": 2}})
    for a, b in zip(pretrained, _layer(Holder.core, "base").get_weights()):
        np.testing.assert_array_equal(a, b)
    assert Holder.core.output_shape[-1] == 2
