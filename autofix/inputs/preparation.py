"""load -> validate: the user's model and data as a :class:`~autofix.inputs.problem.Problem`.

The model is loaded (or checked) and, with several inputs, packed (:mod:`autofix.model.packing`);
the data is read (arrays, a dataset's sample: :mod:`autofix.inputs.datasets`), checked against the
model (shapes, an Embedding's ids), cleared of non-finite rows, its task inferred, and split
into training and held-out rows. Every failure is one :class:`~autofix.errors.InputError`
line.
"""

from __future__ import annotations

import warnings

import numpy as np

from autofix._backend import keras
from autofix.diagnosis.data_checks import finite_rows, nonfinite_data
from autofix.diagnosis.findings import Finding
from autofix.errors import InputError
from autofix.inputs import datasets
from autofix.inputs.data import MIN_ROWS, validate_xy
from autofix.inputs.problem import Problem, holdout_mode, split
from autofix.inputs.task import infer_task
from autofix.model import packing
from autofix.model.anatomy import check_ids, output_activation, output_units
from autofix.model.loading import check_model, load_model
from autofix.options import check_count
from autofix.training.training_setup import (
    PROBABILISTIC_LOSSES,
    REGRESSION_LOSSES,
    canonical_loss,
    setup_from_model,
)


def as_model(model, unsafe: bool = False, custom_objects: dict | None = None):
    if isinstance(model, keras.Model):
        return check_model(model)
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        notes: list[str] = []
        loaded = load_model(model, unsafe=unsafe, notes=notes, custom_objects=custom_objects)
        for note in notes:  # e.g. a Keras 2 .h5 recompiled from its training_config
            warnings.warn(f"autofix: {note}", UserWarning, stacklevel=4)
        return loaded
    raise InputError(f"model must be a keras.Model or a path, got {type(model).__name__}")


def _check_input_fits(model, x: np.ndarray) -> None:
    expected = tuple(model.inputs[0].shape[1:])
    got = tuple(x.shape[1:])
    fits = len(expected) == len(got) and all(e is None or e == g for e, g in zip(expected, got))
    if not fits:
        hint = ""
        if int(np.prod(got)) == int(np.prod([e or 0 for e in expected])):
            hint = f"; reshape with x.reshape(-1, {', '.join(str(e) for e in expected)})"
        raise InputError(f"x rows have shape {got} but the model expects {expected}{hint}")


def _check_ids(model, layout, x: np.ndarray, what: str = "x") -> None:
    """Ids an Embedding of the model cannot look up: one error line, not TensorFlow's."""
    if layout is None:
        check_ids(model, [x], [what])
    else:
        check_ids(model, [x[:, s.start:s.stop] for s in layout.slots],
                  [f"{what} for input {s.name!r}" for s in layout.slots])


def prepare(model, x, y, *, validation_data=None, task="auto", seed=0, epochs=50,
            batch_size=32, unsafe=False, custom_objects=None) -> tuple[Problem, list[Finding]]:
    """Validate everything and build the :class:`Problem`; raise :class:`InputError` if unusable."""
    epochs, batch_size = check_count(epochs, "epochs"), check_count(batch_size, "batch size")
    model = user_model = as_model(model, unsafe, custom_objects)
    if len(model.outputs) > 1:
        raise InputError(f"the model has {len(model.outputs)} outputs; autofix.repair and "
                         "autofix.diagnose take it one output at a time")
    layout = packing.layout_of(model) if len(model.inputs) > 1 else None
    if layout is not None:  # repaired through one packed input (see autofix.model.packing)
        model = packing.packed_model(user_model, layout)
    given_x = x
    sample = datasets.arrays(x, y)
    x, y, notes = sample.x, sample.y, sample.notes
    if sample.batch_rows:  # a dataset trains in its own batches (fit takes no batch_size)
        batch_size = sample.batch_rows
    if y is None:
        raise InputError("y is missing: pass the labels, or a dataset of (x, y) batches as x")
    if datasets.kind_of(validation_data) is not None:
        held = datasets.arrays(validation_data, None, name="validation_data")
        validation_data, notes = (held.x, held.y), notes + held.notes
    for note in notes:  # e.g. how many rows of a dataset were read
        warnings.warn(f"autofix: {note}", UserWarning, stacklevel=3)
    x = packing.one_array(x, user_model, layout)
    if isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
        validation_data = (packing.one_array(validation_data[0], user_model, layout,
                                             "x_val"),
                           validation_data[1])
    x, y = validate_xy(x, y)
    _check_input_fits(model, x)
    _check_ids(user_model, layout, x)
    x_val = y_val = None
    if validation_data is not None:
        x_val, y_val = validate_xy(*validation_data, names=("x_val", "y_val"))
        _check_input_fits(model, x_val)
        _check_ids(user_model, layout, x_val, "x_val")
    # rows with NaN/inf can be neither trained on nor judged: drop them (training and
    # validation rows alike), say how many (a warning), and repair on the finite rows
    early = nonfinite_data(x, y, x_val, y_val)
    if early:
        keep = finite_rows(x, y)
        x, y = x[keep], y[keep]
        if len(x) < MIN_ROWS:
            raise InputError(f"only {len(x)} row is free of NaN/inf; autofix needs at least "
                             f"{MIN_ROWS}: clean the data first")
        if x_val is not None:
            keep = finite_rows(x_val, y_val)
            x_val, y_val = x_val[keep], y_val[keep]
            if len(x_val) < 2:
                raise InputError(f"only {len(x_val)} validation rows are free of NaN/inf; "
                                 "clean the validation data first")
    units = output_units(model)
    loss = getattr(model, "loss", None)
    loss_name = canonical_loss(loss)[0] if loss is not None else ""
    regression_setup = loss_name in REGRESSION_LOSSES and loss_name not in PROBABILISTIC_LOSSES
    classification_setup = loss_name in PROBABILISTIC_LOSSES and (
        units > 1 or loss_name == "sparse_categorical_crossentropy")
    task_info = infer_task(y, task, output_units=units, regression_setup=regression_setup,
                           classification_setup=classification_setup,
                           output_activation=output_activation(model)[1])
    setup = setup_from_model(model, task_info, epochs=int(epochs), batch_size=int(batch_size))
    holdout = holdout_mode(len(x), validation_given=x_val is not None)
    stream = given_x if sample.cut and datasets.streamable(given_x, x, y) else None
    if stream is not None:
        holdout = "split"
    if stream is not None and x_val is None:  # rows held out of the sample and the stream
        held = datasets.held_out(x, int(seed))
        x, x_val, y, y_val = x[~held], x[held], y[~held], y[held]
    elif holdout == "none":  # too few rows to hold any out: judged on the rows it trains on
        x_val, y_val = x, y
    elif x_val is None:
        x, x_val, y, y_val = split(x, y, task_info, seed=seed)
    problem = Problem(model=model, x=x, y=y, x_val=x_val, y_val=y_val, task=task_info,
                      setup=setup, seed=int(seed), holdout=holdout, layout=layout,
                      user_model=user_model, stream=stream,
                      stream_held_out=stream is not None and validation_data is None)
    problem.early_findings = early  # the diagnosis reports them first
    return problem, early
