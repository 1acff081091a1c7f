"""Datasets, generators and image folders: read once into arrays (a bounded sample), then
diagnosed and repaired as arrays are; what cannot be read is one clear line."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

import autofix
from autofix.cli import app
from autofix.errors import InputError
from autofix.inputs.datasets import stream_arrays

runner = CliRunner()


def _data(rows=500):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 4)).astype("float32")
    return x, (x @ np.array([1.0, -2.0, 0.5, 1.5])).astype("float32")


def _zero_init_model():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)),
                              keras.layers.Dense(16, activation="relu", kernel_initializer="zeros"),
                              keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_a_tf_dataset_is_repaired_as_its_arrays_are():
    import tensorflow as tf

    x, y = _data()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    with warnings.catch_warnings(record=True) as heard:
        warnings.simplefilter("always")
        from_dataset = autofix.repair(_zero_init_model(), dataset, epochs=10, budget=60)
    assert any("read 500 rows from a tf.data.Dataset (16 batches)" in str(w.message) for w in heard)
    from_arrays = autofix.repair(_zero_init_model(), x, y, epochs=10, budget=60)
    assert from_dataset.status == from_arrays.status == "repaired"
    assert from_dataset.fix["metric"] == pytest.approx(from_arrays.fix["metric"], abs=1e-9)


def test_a_pydataset_and_a_generator_are_read_up_to_the_cap():
    import keras

    x, y = _data()

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return x[i * 100:(i + 1) * 100], y[i * 100:(i + 1) * 100]

    xs, ys, note = stream_arrays(Batches())
    assert xs.shape == (500, 4) and np.array_equal(ys, y) and "keras.utils.PyDataset" in note

    def endless():
        while True:  # a generator that never ends: read up to the cap only
            yield x[:50], y[:50]

    xs, ys, note = stream_arrays(endless(), max_rows=120)
    assert len(xs) == len(ys) == 120 and "the first 120 only, a sample" in note


@pytest.mark.parametrize("make,words", [
    (lambda tf, x, y: tf.data.Dataset.from_tensor_slices(x).batch(32), "not (x, y) pairs"),
    (lambda tf, x, y: tf.data.Dataset.from_tensor_slices((x, {"a": y, "b": y})).batch(32),
     "named or listed outputs"),
    (lambda tf, x, y: tf.data.Dataset.from_tensor_slices(({"a": x, "b": x}, y)).batch(32),
     "no x array: expected x, found a, b; the model has one input"),
    (lambda tf, x, y: tf.data.Dataset.from_tensor_slices((x, y)).take(0), "with no batches"),
    (lambda tf, x, y: tf.data.Dataset.from_tensor_slices((x, y)), "is it batched"),
])
def test_datasets_autofix_cannot_read_are_one_line(make, words):
    import tensorflow as tf

    x, y = _data(64)
    with pytest.raises(InputError) as err:
        autofix.diagnose(_zero_init_model(), make(tf, x, y))
    assert words in str(err.value) and "\n" not in str(err.value)


def test_labels_given_beside_a_dataset_are_refused():
    import tensorflow as tf

    x, y = _data(64)
    with pytest.raises(InputError, match="a dataset holds its own labels"):
        autofix.diagnose(_zero_init_model(), tf.data.Dataset.from_tensor_slices((x, y)).batch(8), y)


def _image_folder(root, per_class=60, size=12):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, channel in (("red", 0), ("green", 1), ("blue", 2)):
        folder = root / "images" / label
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 90, (size, size, 3))
            pixels[..., channel] += 150  # each class has its own dominant colour
            Image.fromarray(pixels.astype("uint8")).save(folder / f"{i}.png")
    return root / "images"


def _image_model(root, size=12, head_units=1):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((size, size, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(head_units, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    path = root / "cnn.keras"
    model.save(path)
    return path


def test_a_folder_of_images_is_repaired_end_to_end(tmp_path):
    images = _image_folder(tmp_path)
    model = _image_model(tmp_path)  # a one-unit softmax over three classes: always 1.0
    report = tmp_path / "report.json"
    result = runner.invoke(app, ["repair", str(model), str(images), "--epochs", "20",
                                 "--report", str(report), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "read 180 images of 3 classes (blue=0, green=1, red=2) as rgb at 12x12" in result.stderr
    payload = json.loads(report.read_text())
    assert payload["status"] == "repaired" and payload["fix"]["metric"] > 0.9


@pytest.mark.parametrize("layout,args,words", [
    ("flat", [], "without two or more class subfolders"),
    ("empty", [], "class folder 'cat' has no images"),
    ("corrupt", [], "could not read the images"),
    ("ok", ["--target", "label"], "--target and --features are for tables"),
])
def test_image_folder_mistakes_are_one_line(tmp_path, layout, args, words):
    folder = tmp_path / "images"
    folder.mkdir()
    if layout == "flat":
        (folder / "a.png").write_bytes(b"not an image")
    else:
        for name in ("cat", "dog"):
            (folder / name).mkdir()
    if layout == "corrupt":  # real images, and one that is not
        from PIL import Image

        for name in ("cat", "dog"):
            Image.new("RGB", (12, 12), (200, 10, 10)).save(folder / name / "0.png")
        (folder / "dog" / "1.png").write_text("not an image")
    model = _image_model(tmp_path)
    result = runner.invoke(app, ["diagnose", str(model), str(folder), *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], result.stderr


def test_a_model_of_any_image_size_reads_them_at_their_own(tmp_path):
    import keras

    images = _image_folder(tmp_path, per_class=20)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.save(tmp_path / "any.keras")
    result = runner.invoke(app, ["diagnose", str(tmp_path / "any.keras"), str(images)])
    assert result.exit_code in (0, 1), result.output
    assert "as rgb at 12x12" in result.stderr


def test_a_model_that_takes_no_images_is_told_so(tmp_path):
    import keras

    images = _image_folder(tmp_path, per_class=3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "dense.keras")
    result = runner.invoke(app, ["diagnose", str(tmp_path / "dense.keras"), str(images)])
    assert result.exit_code == 2
    assert "the model's input (4,) is not an image" in result.stderr
