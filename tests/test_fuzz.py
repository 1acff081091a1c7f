"""Property-based and corruption fuzzing: every input gives a valid result or one clear
InputError (exit 2 with one line on the command line) — never a traceback, never a hang."""

import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from typer.testing import CliRunner

from autofix.cli import app
from autofix.errors import InputError
from autofix.inputs.data import MIN_ROWS, load_npz, validate_xy
from autofix.model.loading import load_model

DTYPES = st.sampled_from(["float32", "float64", "float16", "int8", "int64", "uint8", "bool",
                          "complex64", "U3", "datetime64[s]"])


def arrays():
    return DTYPES.flatmap(lambda dtype: hnp.arrays(
        dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=14)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=arrays(), y=arrays())
def test_validator_accepts_or_explains(x, y):
    try:
        vx, vy = validate_xy(x, y)
    except InputError as err:
        message = str(err)
        assert message and "\n" not in message
        return
    assert vx.dtype == np.float32 and len(vx) == len(vy) >= MIN_ROWS and vx.ndim >= 2


@settings(max_examples=100, deadline=None)
@given(x=hnp.arrays("float64", (20, 3), elements=st.floats(allow_nan=True, allow_infinity=True)),
       y=hnp.arrays("float64", (20,), elements=st.floats(allow_nan=True, allow_infinity=True)))
def test_nonfinite_values_pass_validation_as_data(x, y):
    vx, vy = validate_xy(x, y)  # NaN/inf are a finding (nonfinite_data), not an input error
    assert vx.shape == (20, 3) and vy.shape == (20,)


@pytest.fixture(scope="module")
def real_files(tmp_path_factory, case):
    c = case("zero_init")
    folder = tmp_path_factory.mktemp("fuzz")
    c.model.save(folder / "model.keras")
    np.savez(folder / "data.npz", x=c.x, y=c.y)
    return folder, (folder / "model.keras").read_bytes(), (folder / "data.npz").read_bytes()


def _corruptions(blob: bytes, count: int, seed: int):
    rng = np.random.default_rng(seed)
    for i in range(count):
        data = bytearray(blob)
        if i % 3 == 0:
            data = data[: int(rng.integers(0, len(data)))]
        else:
            for _ in range(int(rng.integers(1, 8))):
                pos = int(rng.integers(0, len(data)))
                data[pos] ^= 1 << int(rng.integers(0, 8))
        yield bytes(data)


def test_corrupted_npz_loads_or_explains(real_files, tmp_path):
    _, _, blob = real_files
    outcomes = {"loaded": 0, "refused": 0}
    for i, data in enumerate(_corruptions(blob, 60, seed=1)):
        path = tmp_path / f"c{i}.npz"
        path.write_bytes(data)
        try:
            load_npz(path)
            outcomes["loaded"] += 1
        except InputError as err:
            assert "\n" not in str(err) and str(path) in str(err)
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0


def test_corrupted_keras_loads_or_explains(real_files, tmp_path):
    _, blob, _ = real_files
    refused = 0
    for i, data in enumerate(_corruptions(blob, 40, seed=2)):
        path = tmp_path / f"c{i}.keras"
        path.write_bytes(data)
        try:
            load_model(path)
        except InputError as err:
            assert "\n" not in str(err) and str(path) in str(err)
            refused += 1
    assert refused > 0


def test_corrupted_files_through_the_cli(real_files, tmp_path):
    folder, model_blob, data_blob = real_files
    runner = CliRunner()
    cases = [(d, None) for d in _corruptions(model_blob, 6, seed=3)]
    cases += [(None, d) for d in _corruptions(data_blob, 6, seed=4)]
    for i, (model_bytes, data_bytes) in enumerate(cases):
        model = tmp_path / f"m{i}.keras"
        data = tmp_path / f"d{i}.npz"
        model.write_bytes(model_bytes if model_bytes is not None else model_blob)
        data.write_bytes(data_bytes if data_bytes is not None else data_blob)
        result = runner.invoke(app, ["diagnose", str(model), str(data), "--epochs", "3"])
        assert result.exit_code in (0, 1, 2), result.output
        assert "Traceback" not in result.output
        if result.exit_code == 2:
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_npz_that_is_a_plain_npy(tmp_path):
    path = tmp_path / "x.npz"
    buf = io.BytesIO()
    np.save(buf, np.ones(3))
    path.write_bytes(buf.getvalue())
    with pytest.raises(InputError):
        load_npz(path)


def test_zip_that_is_not_a_model(tmp_path):
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "not a model")
    with pytest.raises(InputError):
        load_model(path)
