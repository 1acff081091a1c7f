"""A dataset larger than the sample autofix reads: the search runs on the sample, and the
repair it picks trains again on every row of the stream but the held-out ones."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import r2_score

import autofix
from autofix.inputs import datasets
from autofix.inputs.datasets import held_out, training_rows

SCALES = np.array([1, 10, 100, 1000, 10000])


def _rows(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)) * SCALES
    return x.astype("float32"), x @ (1 / SCALES) + rng.normal(scale=0.1, size=n)


def test_the_held_out_rows_are_the_same_in_the_sample_and_in_a_shuffled_stream():
    import tensorflow as tf

    x, y = _rows(3000)
    mask = held_out(x, seed=0)
    assert 0.15 < mask.mean() < 0.25
    stream = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(3000, seed=1)
    kept = {row.tobytes() for row, _ in stream.filter(training_rows(5, 0)).as_numpy_iterator()}
    assert kept == {row.tobytes() for row in x[~mask]}  # none held out trains, none lost
    assert not np.array_equal(mask, held_out(x, seed=1))  # the seed picks other rows


def test_only_a_dataset_that_can_be_read_to_its_end_again_is_streamed():
    import tensorflow as tf

    x, y = _rows(300)
    batched = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    assert datasets.finite(batched)
    assert not datasets.finite(batched.repeat())
    assert not datasets.finite(iter([(x, y)]))
    _, _, note = datasets.stream_arrays(batched.repeat(), max_rows=100)
    assert "its length is unknown or endless" in note
    _, _, note = datasets.stream_arrays(batched, max_rows=100)
    assert "then trains on the whole dataset" in note
    whole = datasets.read_sample(batched, max_rows=300)  # exactly all its rows: nothing cut
    assert not whole.cut and "only" not in whole.notes[0] and whole.batch_rows == 32
    held = datasets.read_sample(batched, max_rows=100, training=False)
    assert held.cut and "candidates are judged on those" in held.notes[0]


def test_a_dataset_larger_than_the_sample_trains_the_chosen_repair_on_all_of_it(monkeypatch):
    import keras
    import tensorflow as tf

    monkeypatch.setattr(datasets, "MAX_ROWS", 1000)
    x, y = _rows(5000)
    stream = tf.data.Dataset.from_tensor_slices((x[:4000], y[:4000])).batch(64)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    with pytest.warns(UserWarning, match="the first 1000 only"):
        result = autofix.repair(model, stream, budget=40, seed=0)
    assert result.status == "repaired" and "normalize_inputs" in result.fix["strategies"]
    streamed = result.fix["params"]["streamed"]
    if not streamed["stopped_by_budget"]:
        assert streamed["rows"] == int((~held_out(x[:4000], seed=0)).sum())
    else:
        assert streamed["rows"] > 1000  # more than the sample, less than a whole epoch
    assert result.fix["metric"] >= streamed["sample_metric"] - 0.01  # on the same rows
    assert "decided when its run on the whole dataset stopped" in result.fix["judged_by"]
    assert 1 <= streamed["best_epoch"] <= streamed["epochs"]
    assert r2_score(y[4000:], result.model.predict(x[4000:], verbose=0).ravel()) >= 0.95
