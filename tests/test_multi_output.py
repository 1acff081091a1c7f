"""Models with several outputs: each output diagnosed and repaired as a model of its own;
the model handed back keeps the healthy outputs on the user's layers and the outputs' names,
order and structure; the report names each output."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, r2_score
from typer.testing import CliRunner

import autofix
from autofix.cli import app
from autofix.errors import InputError
from autofix.inputs.named_arrays import output_arrays
from autofix.reporting.terminal import verdict_line
from autofix.search.multi_output import combined_model, output_view

runner = CliRunner()


def _data(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    price = x @ rng.normal(size=6) * 3 - 2  # signed: a ReLU head cannot reach most of it
    kind = (x[:, 0] + x[:, 1] > 0).astype("int32")
    return x, price, kind


def _model(seed=0, *, keyed=False):
    """A shared trunk with a regression head (ReLU: broken for signed targets) and a
    healthy binary head."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6,), name="features")
    h = keras.layers.Dense(32, activation="relu")(inputs)
    h = keras.layers.Dense(32, activation="relu")(h)
    price = keras.layers.Dense(1, activation="relu", name="price")(h)
    kind = keras.layers.Dense(1, activation="sigmoid", name="kind")(h)
    model = keras.Model(inputs, {"price": price, "kind": kind} if keyed else [price, kind])
    model.compile(optimizer="adam", loss={"price": "mse", "kind": "binary_crossentropy"})
    return model


def test_targets_are_read_by_output_name_or_in_order():
    model = _model()
    _, price, kind = _data(20)
    by_name = output_arrays(model, {"price": price, "y_kind": kind})
    assert [a.tolist() for a in by_name] == [price.tolist(), kind.tolist()]
    in_order = output_arrays(model, [price, kind])
    assert [a.tolist() for a in in_order] == [a.tolist() for a in by_name]
    for bad, words in [({"price": price}, "no array for the model's output 'kind'"),
                       ([price], "holds 1 arrays but the model has 2 outputs"),
                       (price, "give y as a dict of arrays by output name")]:
        with pytest.raises(InputError, match=words):
            output_arrays(model, bad)
    with pytest.warns(UserWarning, match="left out: weight"):
        output_arrays(model, {"price": price, "kind": kind, "weight": price})
    keyed = _model(keyed=True)  # a list would be read in Keras' sorted order: refused
    with pytest.raises(InputError, match="outputs are a dict"):
        output_arrays(keyed, [price, kind])
    view = output_view(model, 1)
    assert len(view.outputs) == 1 and view.get_layer("kind") is model.get_layer("kind")
    assert view.compiled and "binary_crossentropy" in str(view.loss)


def test_the_combined_model_keeps_the_outputs_structure_and_the_healthy_heads_layers():
    import keras

    model = _model(keyed=True)
    names = list(model.output_names)
    other = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)], name="price_model")
    fixed = {names.index("price"): other}
    combined = combined_model(model, names, fixed)
    assert isinstance(combined.output, dict) and set(combined.output) == {"price", "kind"}
    kept = combined.get_layer("kind")  # the user's own head, copied with its weights
    assert kept is not model.get_layer("kind")
    assert all(np.array_equal(a, b) for a, b in zip(kept.get_weights(),
                                                     model.get_layer("kind").get_weights()))
    x, _, _ = _data(8)
    got = combined.predict(x, verbose=0)
    assert np.allclose(got["price"], other.predict(x, verbose=0), atol=1e-5)
    assert np.allclose(got["kind"], model.predict(x, verbose=0)["kind"], atol=1e-5)


def test_a_two_output_model_with_one_broken_head_is_repaired_on_that_head_only(tmp_path):
    import keras

    x, price, kind = _data()
    model = _model()
    model.fit(x[:800], {"price": price[:800], "kind": kind[:800]}, epochs=15, verbose=0)
    result = autofix.repair(model, x[:800], {"price": price[:800], "kind": kind[:800]},
                            budget=60, seed=0)
    assert result.status == "repaired" and result.exit_code == 0
    report = result.report()
    assert report["fix"]["outputs"] == ["price"]
    assert "swap_output_activation" in report["fix"]["strategies"]
    assert report["outputs"]["price"]["status"] == "repaired"
    assert report["outputs"]["kind"]["status"] == "healthy"  # quiet on the healthy head
    assert report["outputs"]["kind"]["task"] == "binary"
    mismatch = next(f for f in report["findings"] if f["code"] == "output_activation_mismatch")
    assert mismatch["evidence"]["output"] == "price" and mismatch["message"].startswith("output 'price'")
    assert all(f["evidence"]["output"] in ("price", "kind") for f in report["findings"])
    assert all(a["output"] == "price" for a in report["attempts"])
    assert all(e["output"] == "price" for e in report["fix"]["edits"] if e["where"] != "fit")
    assert [e["where"] for e in report["fix"]["edits"]].count("fit") <= 1  # one fit in a script
    fixed = result.model
    assert list(fixed.output_names) == ["price", "kind"]
    assert all(np.array_equal(a, b) for a, b in zip(fixed.get_layer("kind").get_weights(),
                                                     model.get_layer("kind").get_weights()))
    held_price, held_kind = fixed.predict(x[800:], verbose=0)
    assert r2_score(price[800:], held_price.ravel()) >= 0.9
    assert balanced_accuracy_score(kind[800:], held_kind.ravel() > 0.5) >= 0.85
    assert "2 outputs, repaired: output 'price' repaired with" in verdict_line(report)
    path = result.save(tmp_path / "fixed.keras")
    assert result.report()["outputs"]["price"]["fix"]["model_path"] == str(path)
    loaded = keras.models.load_model(path)
    assert np.allclose(loaded.predict(x[800:], verbose=0)[0], held_price, atol=1e-5)


def test_the_cli_reads_targets_named_after_the_outputs_and_names_a_missing_one(tmp_path):
    model_path, data_path = tmp_path / "model.keras", tmp_path / "data.npz"
    _model().save(model_path)
    x, price, kind = _data(300)
    np.savez(data_path, x=x, y_price=price, y_kind=kind)
    result = runner.invoke(app, ["diagnose", str(model_path), str(data_path), "--json",
                                 "--epochs", "3"])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    assert set(report["outputs"]) == {"price", "kind"}
    assert report["outputs"]["price"]["task"] == "regression"
    assert report["outputs"]["kind"]["task"] == "binary"
    assert any(f["code"] == "output_activation_mismatch" and f["evidence"]["output"] == "price"
               for f in report["findings"])
    broken = tmp_path / "broken.npz"
    np.savez(broken, x=x, y_price=price)
    result = runner.invoke(app, ["diagnose", str(model_path), str(broken)])
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and str(broken) in line and "output 'kind'" in line
