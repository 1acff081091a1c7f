"""Findings from the data alone: scales, constant or leaked targets, absent classes."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from autofix.diagnosis.findings import Finding
from autofix.inputs.task import Task, class_ids
from autofix.judge import judge
from autofix.model.anatomy import ID_LAYERS, SCALING_LAYERS

SAMPLE_ROWS = 4000
LEAK_MAX_FEATURES = 256
#: an affine copy of y leaves a residual below this share of y's spread
LEAK_RESIDUAL = 1e-3
#: a recoding of the classes takes at most this many distinct values per class
LEAK_VALUES_PER_CLASS = 2


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _nonfinite_rows(a: np.ndarray) -> np.ndarray:
    return ~np.isfinite(a.reshape(len(a), -1)).all(axis=1)


def _rows(n: int) -> str:
    return f"{n} row" + ("" if n == 1 else "s")


def finite_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The mask of rows free of NaN and inf in both ``x`` and ``y``."""
    return ~(_nonfinite_rows(x) | _nonfinite_rows(y))


def nonfinite_data(x: np.ndarray, y: np.ndarray, x_val: np.ndarray | None = None,
                   y_val: np.ndarray | None = None) -> list[Finding]:
    """NaN or inf in x or y (and in the validation rows, when given): a warning whose
    message says how many rows autofix drops. Those rows cannot be trained on (one NaN makes
    the loss NaN) nor judged, so the repair goes on on the finite rows; but the fixed model
    will still meet such values in use unless the data is cleaned."""
    bad_x, bad_y = _nonfinite_rows(x), _nonfinite_rows(y)
    bad_val = (np.zeros(0, bool) if x_val is None or y_val is None
               else _nonfinite_rows(x_val) | _nonfinite_rows(y_val))
    if not bad_x.any() and not bad_y.any() and not bad_val.any():
        return []
    rows = np.flatnonzero(bad_x | bad_y)
    dropped, val_dropped = len(rows), int(bad_val.sum())
    where = []
    if bad_x.any():
        where.append(f"x has NaN/inf in {_rows(int(bad_x.sum()))}")
    if bad_y.any():
        where.append(f"y has NaN/inf in {_rows(int(bad_y.sum()))}")
    if val_dropped:
        where.append(f"the validation data has NaN/inf in {_rows(val_dropped)}")
    first = f" (first rows: {', '.join(map(str, rows[:5]))})" if dropped else ""
    counts = f"{dropped} of {len(x)} training rows"
    if len(bad_val):
        counts += f" and {val_dropped} of {len(bad_val)} validation rows"
    return [Finding(
        "nonfinite_data", "warning",
        f"{' and '.join(where)}{first}: dropped {counts} (one NaN makes the loss NaN), and the "
        f"repair goes on on the {len(x) - dropped} finite training rows; the fixed model will "
        "still meet such values in use, and answer them with NaN, unless the data is cleaned "
        "(impute or filter them before they reach the model)",
        {"rows_x": int(bad_x.sum()), "rows_y": int(bad_y.sum()), "rows_dropped": dropped,
         "rows_left": len(x) - dropped, "validation_rows_dropped": val_dropped,
         "validation_rows_left": len(bad_val) - val_dropped if len(bad_val) else None,
         "first_rows": rows[:10]},
    )]


def constant_target(y: np.ndarray) -> list[Finding]:
    y2 = y.reshape(len(y), -1)
    if len(y2) and np.all(y2 == y2[:1]):
        value = y2[0].tolist()
        value = value[0] if len(value) == 1 else value
        return [Finding(
            "constant_target", "error",
            f"every one of the {len(y2)} labels is {value}: there is nothing to learn, and a model "
            "that predicts it is right for the wrong reason; check the pipeline that builds y",
            {"value": value, "rows": len(y2)},
        )]
    return []


def absent_classes(task: Task, y: np.ndarray) -> list[Finding]:
    if task.label_format not in ("onehot", "indicator"):
        return []
    counts = y.reshape(len(y), -1).sum(axis=0)
    absent = np.flatnonzero(counts == 0)
    if len(absent) == 0 or len(absent) == len(counts):
        return []
    return [Finding(
        "absent_classes", "warning",
        f"{len(absent)} of {len(counts)} one-hot columns never occur in y (columns "
        f"{', '.join(map(str, absent[:10]))}); the model cannot learn classes it never sees",
        {"absent_columns": absent, "column_counts": counts.astype(int)},
    )]


def _has_scaling_front(model) -> bool:
    """Whether the model scales its own inputs, or reads them as ids (an Embedding...)."""
    for layer in model.layers[:3]:
        if type(layer).__name__ in SCALING_LAYERS | ID_LAYERS:
            return True
    return False


def _feature(layout, column: int) -> str:
    """A column named for the user: ``feature 3``, or by its input (several inputs)."""
    return f"feature {column}" if layout is None else layout.column_name(column)


def unscaled_inputs(model, x: np.ndarray, layout=None) -> list[Finding]:
    """Features on wildly different or large scales. ``layout`` (a model of several inputs,
    x packed): the inputs the model reads as ids or scales itself are left out."""
    if _has_scaling_front(model):
        return []
    flat = x[:SAMPLE_ROWS].reshape(min(len(x), SAMPLE_ROWS), -1).astype("float64")
    flat = flat[np.isfinite(flat).all(axis=1)]
    if len(flat) < 2:
        return []
    lo, hi = np.percentile(flat, [1, 99], axis=0)
    span = hi - lo
    if layout is not None:
        span[~layout.scaled_columns] = 0  # ids and inputs with their own scaling
    varying = np.flatnonzero(span > 0)
    if len(varying) == 0:
        return []
    magnitude = np.where(span > 0, np.maximum(np.abs(lo), np.abs(hi)), 0)
    big = int(varying[np.argmax(span[varying])])
    small = int(varying[np.argmin(span[varying])])
    ratio = float(span[big] / span[small])
    top = float(magnitude[varying].max())
    if ratio >= 1e3 or top >= 1e3:
        severity = "error"
    elif ratio >= 100 or top >= 100:
        severity = "warning"
    else:
        return []
    message = (f"{_feature(layout, big)} spans {_fmt(lo[big])}–{_fmt(hi[big])} while "
               f"{_feature(layout, small)} spans {_fmt(lo[small])}–{_fmt(hi[small])}; the "
               f"first layer sees inputs {_fmt(ratio)}x apart in scale")
    if ratio < 100:
        message = (f"input values reach {_fmt(top)} ({_feature(layout, int(np.argmax(magnitude)))}); "
                   "weights initialized for unit-scale inputs saturate or explode")
    return [Finding("unscaled_inputs", severity, message + "; standardize x (a Normalization layer)",
                    {"span_ratio": ratio, "max_abs": top, "widest_feature": big,
                     "narrowest_feature": small, "widest_span": [lo[big], hi[big]],
                     "narrowest_span": [lo[small], hi[small]],
                     **({"widest_name": _feature(layout, big), "narrowest_name": _feature(layout, small)}
                        if layout is not None else {})})]


def unscaled_targets(task: Task, y: np.ndarray) -> list[Finding]:
    if task.kind != "regression":
        return []
    y2 = y.reshape(len(y), -1)
    mean, std = y2.mean(axis=0), y2.std(axis=0)
    scale = float(np.max(np.maximum(np.abs(mean), std)))
    if scale >= 100:  # Adam moves an output by ~1e-3 a step: 1e5 steps to reach the targets
        severity = "error"
    elif scale >= 30:
        severity = "warning"
    elif 0 < float(np.max(std)) < 1e-3 and scale < 1e-2:
        severity = "warning"
    else:
        return []
    return [Finding(
        "unscaled_targets", severity,
        f"targets have mean {_fmt(float(mean[0]))} and spread {_fmt(float(std[0]))}, while a freshly "
        "initialized output layer produces values near 0 with spread about 1; the loss is "
        "dominated by the offset and learning is slow or stuck: standardize y",
        {"mean": mean, "std": std, "scale": scale},
    )]


def target_leakage(task: Task, x: np.ndarray, y: np.ndarray, seed: int = 0,
                   layout=None) -> list[Finding]:
    """A feature that *is* the label in disguise: a copy of y, not merely a good predictor.

    A leak is a column from which y can be read off without learning anything:

    * regression: an exact affine copy of a target column. The least-squares line
      ``y = a * x_j + b`` leaves a residual whose spread is below ``LEAK_RESIDUAL`` (0.1 %)
      of y's spread. A correlation of 0.999 is not enough (it leaves a residual of 4.5 %):
      measured data that tracks y closely, such as the last step of a forecasting window
      (y_t+1 is close to y_t, not equal to it), is legitimate signal.
    * classification: a discrete recoding of the classes. The feature takes few distinct
      values (at most ``LEAK_VALUES_PER_CLASS`` per class present) and each value stands for
      exactly one class: a value-to-class table read on one half of the rows predicts every
      row of the other half, both ways round. A continuous feature whose threshold separates
      the classes (well-separated clusters) takes many values and is legitimate signal.

    A feature that is the model's only input is never a leak: it is the data, and with
    nothing else to learn from, a model that reads y off it is simply right (``y = 2x + 1``).
    ``layout`` (a model of several inputs, x packed) names the columns by input.
    """
    if task.kind == "multilabel":
        return []
    n = min(len(x), SAMPLE_ROWS)
    flat = x[:n].reshape(n, -1).astype("float64")
    if flat.shape[1] > LEAK_MAX_FEATURES or flat.shape[1] < 2:
        return []
    yy = np.asarray(y[:n])
    ok = np.isfinite(flat).all(axis=1) & np.isfinite(yy.reshape(n, -1).astype("float64")).all(axis=1)
    flat, yy = flat[ok], yy[ok]
    if len(flat) < 20:
        return []
    if task.kind == "regression":
        leaks = _affine_copies(flat, yy.reshape(len(yy), -1).astype("float64"))
        if not leaks:
            return []
        j, ratio, slope, intercept, col = leaks[0]
        target = f"y[:, {col}]" if yy.reshape(len(yy), -1).shape[1] > 1 else "y"
        sign = "-" if intercept < 0 else "+"
        how = (f"is an affine copy of {target}: {target} = {slope:.4g} * x{j} {sign} "
               f"{abs(intercept):.4g} leaves a residual of {ratio:.2g} times y's spread")
        evidence = {"features": [leak[0] for leak in leaks], "measure": "affine_copy",
                    "residual_ratio": [leak[1] for leak in leaks], "slope": slope,
                    "intercept": intercept, "target_column": col}
    else:
        ids = class_ids(task, yy)
        if len(np.unique(ids)) < 2:
            return []
        leaks = _recodings(flat, ids, seed)
        if not leaks:
            return []
        j, values = leaks[0]
        how = (f"takes {values} distinct values, each of which stands for exactly one class "
               "(a value-to-class table read on half of the rows recodes every row of the "
               "other half)")
        evidence = {"features": [leak[0] for leak in leaks], "measure": "recoding",
                    "distinct_values": [leak[1] for leak in leaks]}
    if layout is None:
        cols = "feature " + ", ".join(str(leak[0]) for leak in leaks[:5])
    else:
        cols = ", ".join(layout.column_name(leak[0]) for leak in leaks[:5])
    return [Finding(
        "target_leakage", "error",
        f"{cols} {how}: it is the label in disguise, so a model's score is not real "
        "and will not hold on new data; remove that column from x and train again",
        evidence,
    )]


def _affine_copies(flat: np.ndarray, targets: np.ndarray) -> list[tuple]:
    """(feature, residual ratio, slope, intercept, target column) for every feature that is
    an affine copy of a target column, best first."""
    xc = flat - flat.mean(axis=0)
    sxx = (xc ** 2).sum(axis=0)
    found = {}
    for col in range(min(targets.shape[1], 16)):
        t = targets[:, col]
        tc = t - t.mean()
        syy = float(tc @ tc)
        if syy <= 0:
            continue
        sxy = xc.T @ tc
        with np.errstate(invalid="ignore", divide="ignore"):
            rough = np.where(sxx > 0, 1 - sxy ** 2 / (sxx * syy), 1.0)
        for j in np.flatnonzero(rough <= 1e-4):  # then measured exactly, one at a time
            slope = float(sxy[j] / sxx[j])
            ratio = float(np.std(tc - slope * xc[:, j]) / np.std(tc))
            if ratio <= LEAK_RESIDUAL and ratio < found.get(int(j), (2.0,))[0]:
                intercept = float(t.mean() - slope * flat[:, j].mean())
                found[int(j)] = (ratio, slope, intercept, col)
    return sorted(((j, *rest) for j, rest in found.items()), key=lambda leak: leak[1])


def _recodings(flat: np.ndarray, ids: np.ndarray, seed: int) -> list[tuple]:
    """(feature, distinct values) for every feature whose values each stand for one class,
    checked on held-out rows: a table read on one half predicts every row of the other."""
    n_classes = len(np.unique(ids))
    ids = np.unique(ids, return_inverse=True)[1]
    order = np.random.default_rng(seed).permutation(len(ids))
    halves = ((order[: len(order) // 2], order[len(order) // 2:]),
              (order[len(order) // 2:], order[: len(order) // 2]))
    found = []
    for j in range(flat.shape[1]):
        values, codes_ = np.unique(flat[:, j], return_inverse=True)
        if not 2 <= len(values) <= LEAK_VALUES_PER_CLASS * n_classes:
            continue
        perfect = True
        for fit_rows, test_rows in halves:
            table = np.zeros((len(values), n_classes), dtype=int)
            np.add.at(table, (codes_[fit_rows], ids[fit_rows]), 1)
            seen = table.sum(axis=1) > 0
            pure = bool(((table > 0).sum(axis=1) <= 1).all())
            test = codes_[test_rows]
            if not (pure and seen[test].all() and (table.argmax(axis=1)[test] == ids[test_rows]).all()):
                perfect = False
                break
        if perfect:
            found.append((j, len(values)))
    return found


def _reference_models(task: Task, seed: int) -> dict:
    """Three quick, different references: boosted trees, a linear model and a small neural
    network (two hidden layers of 64, trained full-batch by L-BFGS: on the few thousand rows
    the reference sees, scikit-learn's advice; measured here up to twice as fast as Adam and
    higher on 28 of the 31 scenarios, equal on 3), on standardized features where it matters;
    whichever scores higher stands for what the data allows."""
    network = {"hidden_layer_sizes": (64, 64), "solver": "lbfgs", "max_iter": 200,
               "random_state": seed}
    if task.kind == "regression":
        return {"gradient boosting": HistGradientBoostingRegressor(
                    max_iter=100, early_stopping=False, random_state=seed),
                "ridge regression": make_pipeline(StandardScaler(), RidgeCV()),
                "neural network": make_pipeline(StandardScaler(), MLPRegressor(**network))}
    return {"gradient boosting": HistGradientBoostingClassifier(
                max_iter=100, early_stopping=False, random_state=seed),
            "logistic regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
            "neural network": make_pipeline(StandardScaler(), MLPClassifier(**network))}


def _as_predictions(task: Task, est, proba_or_values: np.ndarray) -> np.ndarray:
    """sklearn's output in the shape autofix judges (values; class probabilities by id)."""
    if task.kind == "regression":
        return proba_or_values.reshape(-1, 1)
    classes = est.classes_ if hasattr(est, "classes_") else est[-1].classes_
    if task.n_classes <= 2 and task.label_format == "ids":
        return proba_or_values[:, -1:]  # one unit: the probability of the larger class
    pred = np.zeros((len(proba_or_values), max(task.width, int(np.max(classes)) + 1, 2)))
    pred[:, classes] = proba_or_values
    return pred


def reference_signal(task: Task, x, y, x_val, y_val, seed: int = 0, *,
                     folds: bool = False) -> dict:
    """How far quick scikit-learn models get (the best of boosted trees, a linear model and
    a small neural network): evidence of whether y is learnable from x, and the target a repair aims at.
    ``folds``: too few rows to hold some out; ``x``/``y`` are every row and the score is
    out of fold (5-fold cross-validation)."""
    if task.kind == "multilabel":
        return {}
    n = min(len(x), 2000)
    flat = x[:n].reshape(n, -1).astype("float64")
    flat_val = x_val.reshape(len(x_val), -1).astype("float64")
    rng = np.random.default_rng(seed)
    if flat.shape[1] > 128:
        cols = np.sort(rng.choice(flat.shape[1], 128, replace=False))
        flat, flat_val = flat[:, cols], flat_val[:, cols]
    yy = y[:n]
    if task.kind == "regression":
        target = yy.reshape(len(yy), -1)
        if target.shape[1] != 1:
            return {}
        fit_y = target[:, 0]
    else:
        fit_y = class_ids(task, yy)
        if len(np.unique(fit_y)) < 2:
            return {}
    if task.kind == "regression":
        splitter = KFold(5, shuffle=True, random_state=seed)
    else:
        counts = np.bincount(fit_y)
        splitter = StratifiedKFold(max(2, min(5, int(counts[counts > 0].min()))), shuffle=True,
                                   random_state=seed)
    best = None
    # one thread: OpenMP's spinning threads cost 30x on a busy machine for data this small;
    # a network that has not fully converged in its iterations is still evidence: no warning
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, est in _reference_models(task, seed).items():
            method = "predict" if task.kind == "regression" else "predict_proba"
            try:
                if folds:
                    raw = cross_val_predict(est, flat, fit_y, cv=splitter, method=method)
                    est.fit(flat, fit_y)
                    verdict = judge(task, yy, yy, _as_predictions(task, est, raw))
                else:
                    est.fit(flat, fit_y)
                    raw = getattr(est, method)(flat_val)
                    verdict = judge(task, y, y_val, _as_predictions(task, est, raw))
            except ValueError:  # e.g. too few rows of a class for the folds
                continue
            if best is None or verdict.metric > best[1].metric:
                best = (name, verdict)
    if best is None:
        return {}
    name, verdict = best
    return {"metric": verdict.metric, "constant": verdict.constant,
            "degenerate": verdict.degenerate, "model": name}
