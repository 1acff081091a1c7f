"""Models with several inputs: repaired through one packed input, handed back taking the
user's own inputs (names, shapes, dtypes), with a Normalization only where one was needed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import r2_score
from typer.testing import CliRunner

import autofix
from autofix.cli import app
from autofix.diagnosis.data_checks import unscaled_inputs
from autofix.errors import InputError
from autofix.model.packing import layout_of, one_array, packed_model, unpacked_model

runner = CliRunner()
IDS = 8


def _model(seed=0, *, keyed=True):
    """A numeric branch (three features) beside an Embedding of a category id, built on a
    dict of inputs (or a list: num, cat)."""
    import keras

    keras.utils.set_random_seed(seed)
    num = keras.Input((3,), name="num")
    cat = keras.Input((1,), dtype="int32", name="cat")
    embedded = keras.layers.Flatten()(keras.layers.Embedding(IDS, 4)(cat))
    h = keras.layers.Concatenate()([keras.layers.Dense(16, activation="relu")(num), embedded])
    h = keras.layers.Dense(16, activation="relu")(h)
    inputs = {"num": num, "cat": cat} if keyed else [num, cat]
    model = keras.Model(inputs, keras.layers.Dense(1, name="price")(h))
    model.compile(optimizer="adam", loss="mse")
    return model


def _data(n=900, seed=0, scales=(1.0, 1e3, 1e5)):
    """The numeric branch on wildly different scales (unless ``scales`` are ones)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    num = z * np.array(scales) + np.array(scales) * 5
    cat = rng.integers(0, IDS, size=(n, 1))
    y = z @ np.array([1.0, 1.0, -1.0]) + np.linspace(-2, 2, IDS)[cat[:, 0]] \
        + rng.normal(scale=0.1, size=n)
    return {"num": num.astype("float32"), "cat": cat.astype("int32")}, y


def test_the_layout_packs_names_and_refuses_arrays_that_do_not_fit():
    model = _model()
    layout = layout_of(model)
    assert layout.names == [t.name for t in model.inputs] and set(layout.names) == {"num", "cat"}
    raw = {slot.name: slot.raw for slot in layout.slots}
    assert raw == {"num": False, "cat": True}  # ids are never standardized
    x, _ = _data(10)
    packed = layout.pack(x)
    assert packed.shape == (10, 4) and packed.dtype == np.float32
    back = layout.unpack(packed)
    assert all(np.array_equal(back[name], x[name]) for name in x)
    listed = layout_of(_model(keyed=False))
    assert listed.names == ["num", "cat"] and not listed.keyed
    in_order = listed.pack([x["num"], x["cat"]])  # a list in the model's input order
    assert np.array_equal(listed.unpack(in_order)["cat"], x["cat"])
    with pytest.raises(InputError, match="holds 1 arrays but the model has 2 inputs"):
        listed.pack([x["num"]])
    with pytest.raises(InputError, match="built on a dict of inputs"):
        layout.pack([x["num"], x["cat"]])  # Keras would read it in sorted name order
    assert np.array_equal(layout.pack({"x_num": x["num"], "x_cat": x["cat"]}), packed)
    num_first = layout.slots[layout.names.index("num")].start
    assert layout.column_name(num_first + 2) == "input 'num' feature 2"
    cat_column = layout.slots[layout.names.index("cat")].start
    assert layout.column_name(cat_column) == "input 'cat'"
    for bad, words in [({"num": x["num"]}, "no array for the model's input 'cat'"),
                       ({**x, "num": x["num"][:, :2]}, "input 'num' has rows of shape (2,)"),
                       ({**x, "cat": x["cat"][:5]}, "different numbers of rows"),
                       (x["num"], "give x as a dict of arrays by input name")]:
        with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
            layout.pack(bad)
    with pytest.raises(InputError, match="no x array"):  # one input: a dict names it
        one_array({"other": x["num"]}, _one_input_model(), None)
    with pytest.warns(UserWarning, match="left out: extra"):
        layout.pack({**x, "extra": x["num"]})


def test_ids_beyond_an_embedding_are_one_error_line_not_a_tensorflow_trace():
    x, y = _data(200)
    x["cat"] = x["cat"] + 50
    with pytest.raises(InputError) as err:
        autofix.diagnose(_model(), x, y)
    message = str(err.value)
    assert "input 'cat' holds ids from 50 to 57" in message and "input_dim=58" in message
    assert "\n" not in message


def _one_input_model():
    import keras

    inputs = keras.Input((3,), name="features")
    return keras.Model(inputs, keras.layers.Dense(1)(inputs))


def test_the_packed_view_and_the_model_handed_back_predict_as_the_model_does():
    import keras

    model = _model()
    layout = layout_of(model)
    x, _ = _data(16)
    expected = model.predict(x, verbose=0)
    view = packed_model(model, layout)
    assert len(view.inputs) == 1 and view.compiled
    assert np.allclose(view.predict(layout.pack(x), verbose=0), expected, atol=1e-5)
    back = unpacked_model(view, layout)
    assert isinstance(back.input, dict) and set(back.input) == {"num", "cat"}
    assert str(back.input["cat"].dtype) == "int32"
    assert np.allclose(back.predict(x, verbose=0), expected, atol=1e-5)
    # a layer in front that autofix cannot split per input: the packed model is kept whole
    packed = keras.Input((layout.width,))
    wrapped = keras.Model(packed, view(keras.layers.Rescaling(1.0)(packed)))
    kept = unpacked_model(wrapped, layout)
    assert np.allclose(kept.predict(x, verbose=0), expected, atol=1e-5)


def test_unscaled_inputs_names_the_input_and_leaves_ids_out():
    model = _model()
    layout = layout_of(model)
    view = packed_model(model, layout)
    x, _ = _data(400, scales=(1.0, 1.0, 1.0))
    x["cat"] = (x["cat"] * 600).astype("int32")  # ids up to 4200 on a unit-scale branch
    packed = layout.pack(x)
    assert unscaled_inputs(view, packed, layout) == []  # healthy: ids have no scale
    assert unscaled_inputs(view, packed)  # without the layout the ids would look unscaled
    unscaled, _ = _data(400)
    found = unscaled_inputs(view, layout.pack(unscaled), layout)
    assert found and found[0].severity == "error"
    assert "input 'num' feature 2" in found[0].message and "'cat'" not in found[0].message


def test_a_two_input_model_with_one_unscaled_branch_is_repaired_end_to_end(tmp_path):
    import keras

    x, y = _data(1100)
    train = {name: a[:900] for name, a in x.items()}
    held = {name: a[900:] for name, a in x.items()}  # never shown to the repair
    result = autofix.repair(_model(), train, y[:900], budget=40, seed=0)
    assert result.status == "repaired", result.findings
    assert "normalize_inputs" in result.fix["strategies"]
    assert result.fix["recovery"] >= 0.9
    unscaled = next(f for f in result.findings if f.code == "unscaled_inputs")
    assert "input 'num'" in unscaled.message
    fixed = result.model
    assert isinstance(fixed.input, dict) and set(fixed.input) == {"num", "cat"}
    norms = [layer for layer in fixed.layers if type(layer).__name__ == "Normalization"]
    assert [layer.name for layer in norms] == ["autofix_normalization_num"]  # none for the ids
    assert r2_score(y[900:], fixed.predict(held, verbose=0).ravel()) >= 0.9
    edits = "\n".join(e.get("setup") or "" for e in result.fix["edits"])
    assert "normalizer_num.adapt(x_train['num'])" in edits
    path = result.save(tmp_path / "fixed.keras")
    loaded = keras.models.load_model(path)
    assert np.allclose(loaded.predict(held, verbose=0), fixed.predict(held, verbose=0), atol=1e-5)


def test_the_cli_reads_arrays_named_after_the_inputs_and_names_a_missing_one(tmp_path):
    model_path, data_path = tmp_path / "model.keras", tmp_path / "data.npz"
    _model().save(model_path)
    x, y = _data(300)
    np.savez(data_path, num=x["num"], x_cat=x["cat"], y=y)
    result = runner.invoke(app, ["diagnose", str(model_path), str(data_path), "--json",
                                 "--epochs", "3"])
    assert result.exit_code == 1, result.output  # diagnosed, and not healthy
    report = json.loads(result.stdout)
    assert report["diagnosis"] == "degenerate"
    unscaled = next(f for f in report["findings"] if f["code"] == "unscaled_inputs")
    assert "input 'num'" in unscaled["message"]
    broken = tmp_path / "broken.npz"
    np.savez(broken, num=x["num"], y=y)
    result = runner.invoke(app, ["diagnose", str(model_path), str(broken)])
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and str(broken) in line and "input 'cat'" in line
