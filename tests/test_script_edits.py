"""The repair as edits to the user's own script: each edit fires on a broken model and stays
quiet on a healthy one, and applying the edits to a user's model-building code reproduces
the repair's metric."""

import keras
import numpy as np
import pytest

import autofix
from autofix.inputs.task import infer_task
from autofix.judge import judge
from autofix.reporting.script_edits import (
    as_text,
    compile_code,
    optimizer_code,
    script_edits,
)
from autofix.training.training_setup import TrainingSetup


def _regression(n=1200, d=8, seed=0, scales=None, shift=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (np.sin(x[:, 0]) + 0.8 * x[:, 1] - 0.5 * x[:, 2] * x[:, 3] + 0.1 * rng.normal(size=n))
    if scales is not None:
        x = x * np.asarray(scales, dtype="float32")
    return x, (y + shift).astype("float32")


def _apply(script: str, edits: list[dict]) -> str:
    """The user's script with the edits made as a person would make them: each ``before``
    replaced by its ``after``, ``setup`` lines put before the model is built, and the lines
    that only add code put after the fit."""
    for edit in edits:
        if edit.get("setup"):
            script = script.replace("# build the model\n", f"{edit['setup']}\n# build the model\n")
        if edit["before"]:
            assert script.count(edit["before"]) == 1, (edit["before"], script)
            script = script.replace(edit["before"], edit["after"])
        else:
            script += edit["after"] + "\n"
    return script


def _run(script: str, x_train, y_train):
    keras.utils.disable_interactive_logging()
    space = {"keras": keras, "np": np, "x_train": x_train, "y_train": y_train}
    try:
        exec(compile(script, "train.py", "exec"), space)
    finally:
        keras.utils.enable_interactive_logging()
    return space["model"]


def _script(layers: str, learning_rate: str = "0.001") -> str:
    """A user's training script: the model built from ``layers`` after an 8-feature Input."""
    return f"""keras.utils.set_random_seed(0)
# build the model
model = keras.Sequential([
    keras.Input(shape=(8,)),
{layers}
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate={learning_rate}), loss="mean_squared_error")
model.fit(x_train, y_train, epochs=20, batch_size=32)
"""


HIDDEN = '    keras.layers.Dense(32, activation="relu"),'
SCRIPTS = {
    # inputs on wildly different scales
    "unscaled_inputs": (_script(f"{HIDDEN}\n{HIDDEN}\n    keras.layers.Dense(1),"),
                        dict(scales=[1, 1e3, 1e4, 1e2, 1, 1e5, 10, 1e3])),
    # a ReLU head on targets that are mostly negative
    "relu_head": (_script(f'{HIDDEN}\n    keras.layers.Dense(1, activation="relu"),'),
                  dict(shift=-2.0)),
    # a learning rate far too low to move the weights
    "tiny_learning_rate": (_script(f"{HIDDEN}\n    keras.layers.Dense(1),", "1e-07"), dict()),
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_applying_the_edits_to_the_users_script_reproduces_the_repair(name):
    script, data = SCRIPTS[name]
    x, y = _regression(**data)
    x_train, y_train, x_val, y_val = x[:960], y[:960], x[960:], y[960:]
    broken = _run(script, x_train, y_train)
    result = autofix.repair(broken, x_train, y_train, validation_data=(x_val, y_val), epochs=20)
    assert result.status == "repaired", result.report()["attempts"]
    edits = result.fix["edits"]
    assert edits and as_text(edits)
    fixed_script = _apply(script, edits)
    assert fixed_script != script
    rebuilt = _run(fixed_script, x_train, y_train)
    task = infer_task(y_train)
    mine = judge(task, y_train, y_val, rebuilt.predict(x_val, verbose=0)).metric
    assert mine >= result.fix["metric"] - 0.05, (fixed_script, mine, result.fix["metric"])


def test_each_kind_of_edit_fires_on_its_change_and_stays_quiet_without_one():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1, activation="relu")])
    setup = TrainingSetup(optimizer="SGD", learning_rate=0.01, epochs=10)
    assert script_edits(model, model, setup, setup) == []  # nothing changed: nothing to edit

    fixed = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1, name=model.layers[-1].name)])
    changed = setup.replace(optimizer="Adam", learning_rate=0.003, epochs=40,
                            class_weight={0: 0.5, 1: 2.0})
    edits = script_edits(model, fixed, setup, changed)
    by_kind = {e["where"]: e for e in edits}
    assert by_kind["model"]["before"] == 'keras.layers.Dense(1, activation="relu")'
    assert by_kind["model"]["after"] == "keras.layers.Dense(1)"
    assert "the output layer" in by_kind["model"]["change"]
    assert by_kind["compile"]["before"] == compile_code(setup)
    assert "keras.optimizers.Adam(learning_rate=0.003)" in by_kind["compile"]["after"]
    assert by_kind["fit"]["after"] == ("model.fit(x_train, y_train, epochs=40, batch_size=32, "
                                       "class_weight={0: 0.5, 1: 2})")


def test_early_stopping_gives_the_epoch_it_kept_and_target_scaling_its_rescaling():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    inputs = keras.Input((3,), name="raw_input")
    norm = keras.layers.Normalization(name="autofix_normalization")
    norm.adapt(np.ones((4, 3), "float32"))
    core = keras.models.clone_model(model)
    out = keras.layers.Rescaling(scale=2.5, offset=-1.0, name="autofix_unscale_targets")(core(norm(inputs)))
    fixed = keras.Model(inputs, out, name=f"{core.name}_fixed")
    setup = TrainingSetup(epochs=5)
    edits = script_edits(model, fixed, setup, setup.replace(epochs=300, early_stopping=True),
                         best_epoch=57)
    kinds = [e["where"] for e in edits]
    assert kinds == ["model", "fit", "predict"]
    assert "normalizer.adapt(x_train)" in edits[0]["setup"]
    assert edits[1]["after"] == "model.fit(x_train, (y_train - y_mean) / y_std, epochs=57, batch_size=32)"
    assert "y_mean, y_std = np.array(-1), np.array(2.5)" in edits[1]["setup"]
    assert "Rescaling(scale=y_std, offset=y_mean)" in edits[2]["after"]


def test_retraining_from_fresh_weights_says_so_and_a_custom_optimizer_is_written(monkeypatch):
    """A repair that only re-draws the weights (retrain) has no config to diff: the edit says
    to build the model anew. An optimizer class that needs arguments is still written."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    setup = TrainingSetup(epochs=10)
    edits = script_edits(model, model, setup, setup, strategies=("retrain",))
    assert [e["where"] for e in edits] == ["model"]
    assert "freshly initialized weights" in edits[0]["change"]

    class Picky(keras.optimizers.Adam):
        def __init__(self, required, **kwargs):
            super().__init__(**kwargs)

    monkeypatch.setattr(TrainingSetup, "make_optimizer",
                        lambda self: Picky(1, learning_rate=self.learning_rate))
    assert optimizer_code(setup).startswith("keras.optimizers.Picky(learning_rate=0.001")
