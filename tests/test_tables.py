"""CSV and Parquet tables: a target column, numeric features by default, text columns named
and left out, text labels read as class ids; every mistake one line and exit 2."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import autofix
from autofix.cli import app
from autofix.errors import InputError

runner = CliRunner()
ROWS = 400


def _frame(seed=0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    area = rng.uniform(30, 250, ROWS)  # square metres: wildly unlike the other feature
    rooms = rng.integers(1, 7, ROWS).astype(float)
    city = rng.choice(["Lyon", "Oslo", "Porto"], ROWS)
    price = 3000 * area + 20000 * rooms + rng.normal(0, 20000, ROWS)
    return pd.DataFrame({"area": area, "city": city, "rooms": rooms, "price": price})


def test_numeric_columns_are_the_features_and_text_columns_are_named(tmp_path):
    path = tmp_path / "homes.csv"
    _frame().to_csv(path, index=False)
    table = autofix.read_table(path, target="price")
    assert table.features == ["area", "rooms"]
    assert table.x.shape == (ROWS, 2) and table.x.dtype == np.float32
    assert table.y.shape == (ROWS,) and table.classes is None
    assert any("'city'" in note or "city" in note for note in table.notes)
    chosen = autofix.read_table(path, target="price", features=["rooms"])
    assert chosen.features == ["rooms"] and chosen.x.shape == (ROWS, 1) and not chosen.notes
    # in Python as on the command line, a comma-separated string names them too
    assert autofix.read_table(path, target="price", features="rooms, area").features == ["rooms", "area"]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_the_delimiter_is_found(tmp_path, sep):
    path = tmp_path / "homes.txt"
    _frame().to_csv(path, index=False, sep=sep)
    assert autofix.read_table(path, target="price").features == ["area", "rooms"]


def test_text_labels_become_class_ids_in_sorted_order(tmp_path):
    frame = _frame()
    frame["label"] = np.where(frame["price"] > frame["price"].median(), "dear", "cheap")
    path = tmp_path / "homes.csv"
    frame.drop(columns="price").to_csv(path, index=False)
    table = autofix.read_table(path, target="label")
    assert table.classes == ["cheap", "dear"]
    assert set(np.unique(table.y)) == {0.0, 1.0}
    assert np.array_equal(table.y == 1, (frame["label"] == "dear").to_numpy())
    assert any("cheap=0, dear=1" in note for note in table.notes)


def test_parquet_reads_like_csv(tmp_path):
    pytest.importorskip("pyarrow")
    frame = _frame()
    frame.to_parquet(tmp_path / "homes.parquet")
    frame.to_csv(tmp_path / "homes.csv", index=False)
    a = autofix.read_table(tmp_path / "homes.parquet", target="price")
    b = autofix.read_table(tmp_path / "homes.csv", target="price")
    assert a.features == b.features
    assert np.allclose(a.x, b.x) and np.allclose(a.y, b.y)


@pytest.mark.parametrize("content,target,features,words", [
    ("area,rooms,price\n1,2,3\n", "cost", None, "has no column 'cost' to use as the target (--target); its columns are area, rooms, price"),
    ("area,rooms,price\n", "price", None, "header but no rows"),
    ("area,city,price\n1,Oslo,3\n", "price", ["city"], "column 'city' holds text, not numbers"),
    ("area,rooms,price\n1,2,3\n", "price", ["price"], "name the target column"),
    ("area,rooms,price\n1,2,3\n", "price", ["size"], "no column 'size' named in the features (--features)"),
    ("city,price\nOslo,3\n", "price", None, "no numeric column besides the target"),
    ("area,price\n1,3\n2,\n", "price", None, "has 1 empty value(s)"),
])
def test_table_mistakes_are_one_line(tmp_path, content, target, features, words):
    path = tmp_path / "t.csv"
    path.write_text(content)
    with pytest.raises(InputError) as err:
        autofix.read_table(path, target=target, features=features)
    assert words in str(err.value) and str(err.value).startswith(str(path))
    assert "\n" not in str(err.value)


def _saved_model(tmp_path, features):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((features,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    path = tmp_path / "model.keras"
    model.save(path)
    return path


def test_a_table_is_repaired_end_to_end_and_left_as_it_was(tmp_path):
    data = tmp_path / "homes.csv"
    _frame().to_csv(data, index=False)
    before = data.read_bytes()
    model = _saved_model(tmp_path, 2)
    report = tmp_path / "report.json"
    result = runner.invoke(app, ["repair", str(model), str(data), "--target", "price",
                                 "--epochs", "20", "--report", str(report), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "left out 1 column(s) that are not numbers: city" in result.stderr
    assert "read 400 rows: 'price' from 2 feature column(s); findings number them: feature 0 = area, 1 = rooms" in result.stderr
    import json

    payload = json.loads(report.read_text())
    assert payload["status"] == "repaired"
    assert "unscaled_inputs" in {f["code"] for f in payload["findings"]}
    assert data.read_bytes() == before


@pytest.mark.parametrize("args,words", [
    (["--target", "price", "--features", " , "], "the features (--features) name no column"),
    (["--target", "cost"], "has no column 'cost'"),
])
def test_table_options_mistakes_exit_2(tmp_path, args, words):
    data = tmp_path / "homes.csv"
    _frame().to_csv(data, index=False)
    model = _saved_model(tmp_path, 2)
    result = runner.invoke(app, ["diagnose", str(model), str(data), *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], result.stderr


def test_a_table_wider_than_the_model_is_one_line_naming_the_columns(tmp_path):
    data = tmp_path / "homes.csv"
    frame = _frame()
    frame["garden"] = frame["area"] > 100  # a boolean column is a number: it is a feature
    frame.to_csv(data, index=False)
    model = _saved_model(tmp_path, 2)
    result = runner.invoke(app, ["diagnose", str(model), str(data), "--target", "price"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "the model takes 2 feature(s) but the table gives 3 (area, rooms, garden)" in lines[0]
    assert "--features" in lines[0]


def test_target_with_an_npz_is_refused(tmp_path):
    data = tmp_path / "data.npz"
    np.savez(data, x=np.ones((ROWS, 2), "float32"), y=np.zeros(ROWS))
    model = _saved_model(tmp_path, 2)
    result = runner.invoke(app, ["diagnose", str(model), str(data), "--target", "y"])
    assert result.exit_code == 2
    assert "--target names a column of a CSV or Parquet table" in result.stderr
