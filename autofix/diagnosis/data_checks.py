"""Findings from the data alone: scales, constant or leaked targets, absent classes."""

from __future__ import annotations

import numpy as np

from ..findings import Finding
from ..task import Task, class_ids

SAMPLE_ROWS = 4000
LEAK_MAX_FEATURES = 256
SCALING_LAYERS = {"Normalization", "Rescaling", "BatchNormalization", "LayerNormalization",
                  "UnitNormalization", "GroupNormalization"}
#: layers that read their input as ids or categories, not magnitudes: scale is meaningless
ID_LAYERS = {"Embedding", "CategoryEncoding", "IntegerLookup", "StringLookup", "Hashing",
             "TextVectorization", "Discretization"}


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def nonfinite_data(x: np.ndarray, y: np.ndarray) -> list[Finding]:
    bad_x = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    bad_y = ~np.isfinite(y.reshape(len(y), -1)).all(axis=1)
    if not bad_x.any() and not bad_y.any():
        return []
    rows = np.flatnonzero(bad_x | bad_y)
    where = []
    if bad_x.any():
        where.append(f"x has NaN/inf in {int(bad_x.sum())} rows")
    if bad_y.any():
        where.append(f"y has NaN/inf in {int(bad_y.sum())} rows")
    return [Finding(
        "nonfinite_data", "error",
        f"{' and '.join(where)} (first rows: {', '.join(map(str, rows[:5]))}); any NaN makes the "
        "loss NaN: clean or drop those rows, then run autofix again",
        {"rows_x": int(bad_x.sum()), "rows_y": int(bad_y.sum()), "first_rows": rows[:10]},
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


def unscaled_inputs(model, x: np.ndarray) -> list[Finding]:
    if _has_scaling_front(model):
        return []
    flat = x[:SAMPLE_ROWS].reshape(min(len(x), SAMPLE_ROWS), -1).astype("float64")
    flat = flat[np.isfinite(flat).all(axis=1)]
    if len(flat) < 2:
        return []
    lo, hi = np.percentile(flat, [1, 99], axis=0)
    span = hi - lo
    varying = np.flatnonzero(span > 0)
    if len(varying) == 0:
        return []
    magnitude = np.maximum(np.abs(lo), np.abs(hi))
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
    message = (f"feature {big} spans {_fmt(lo[big])}–{_fmt(hi[big])} while feature {small} spans "
               f"{_fmt(lo[small])}–{_fmt(hi[small])}; the first layer sees inputs "
               f"{_fmt(ratio)}x apart in scale")
    if ratio < 100:
        message = (f"input values reach {_fmt(top)} (feature {int(np.argmax(magnitude))}); "
                   "weights initialized for unit-scale inputs saturate or explode")
    return [Finding("unscaled_inputs", severity, message + "; standardize x (a Normalization layer)",
                    {"span_ratio": ratio, "max_abs": top, "widest_feature": big,
                     "narrowest_feature": small, "widest_span": [lo[big], hi[big]],
                     "narrowest_span": [lo[small], hi[small]]})]


def unscaled_targets(task: Task, y: np.ndarray) -> list[Finding]:
    if task.kind != "regression":
        return []
    y2 = y.reshape(len(y), -1)
    mean, std = y2.mean(axis=0), y2.std(axis=0)
    scale = float(np.max(np.maximum(np.abs(mean), std)))
    if scale >= 1e3:
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


def target_leakage(task: Task, x: np.ndarray, y: np.ndarray, seed: int = 0) -> list[Finding]:
    """A single feature that equals the target or predicts it perfectly on held-out rows."""
    if task.kind == "multilabel":
        return []
    n = min(len(x), SAMPLE_ROWS)
    flat = x[:n].reshape(n, -1).astype("float64")
    if flat.shape[1] > LEAK_MAX_FEATURES:
        return []
    ok = np.isfinite(flat).all(axis=1) & np.isfinite(y[:n].reshape(n, -1)).all(axis=1)
    flat, yy = flat[ok], y[:n][ok]
    if len(flat) < 20:
        return []
    leaks = []
    if task.kind == "regression":
        target = yy.reshape(len(yy), -1)[:, 0]
        if target.std() == 0:
            return []
        std = flat.std(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = ((flat - flat.mean(0)) * (target - target.mean())[:, None]).mean(0) / (std * target.std())
        for j in np.flatnonzero(np.abs(np.nan_to_num(corr)) >= 0.999):
            leaks.append((int(j), float(abs(corr[j])), "correlation"))
    else:
        from sklearn.metrics import balanced_accuracy_score
        from sklearn.tree import DecisionTreeClassifier

        ids = class_ids(task, yy)
        if len(np.unique(ids)) < 2:
            return []
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(ids))
        half = len(order) // 2
        a, b = order[:half], order[half:]
        for j in range(flat.shape[1]):
            col = flat[:, j:j + 1]
            if col[:, 0].std() == 0:
                continue
            scores = []
            for fit_rows, test_rows in ((a, b), (b, a)):
                tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(col[fit_rows], ids[fit_rows])
                scores.append(balanced_accuracy_score(ids[test_rows], tree.predict(col[test_rows])))
            if min(scores) >= 0.995:
                leaks.append((j, float(min(scores)), "balanced_accuracy"))
    if not leaks:
        return []
    cols = ", ".join(str(j) for j, _, _ in leaks[:5])
    kind = leaks[0][2]
    score = leaks[0][1]
    how = (f"correlates with y at {score:.4f}" if kind == "correlation"
           else f"alone predicts y with held-out balanced accuracy {score:.3f}")
    return [Finding(
        "target_leakage", "error",
        f"feature {cols} {how}: it is the label in disguise, so the model's score is not real "
        "and will not hold on new data; remove that column from x and train again",
        {"features": [j for j, _, _ in leaks], "scores": [s for _, s, _ in leaks], "measure": kind},
    )]


def reference_signal(task: Task, x, y, x_val, y_val, seed: int = 0) -> dict:
    """How far a quick scikit-learn model gets: evidence of whether y is learnable from x."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from ..judge import judge

    n = min(len(x), 2000)
    flat = x[:n].reshape(n, -1)
    flat_val = x_val.reshape(len(x_val), -1)
    rng = np.random.default_rng(seed)
    if flat.shape[1] > 128:
        cols = np.sort(rng.choice(flat.shape[1], 128, replace=False))
        flat, flat_val = flat[:, cols], flat_val[:, cols]
    yy = y[:n]
    if task.kind == "multilabel":
        return {}
    if task.kind == "regression":
        target = yy.reshape(len(yy), -1)
        if target.shape[1] != 1:
            return {}
        est = HistGradientBoostingRegressor(max_iter=40, early_stopping=False, random_state=seed)
        est.fit(flat, target[:, 0])
        pred = est.predict(flat_val).reshape(-1, 1)
    else:
        ids = class_ids(task, yy)
        if len(np.unique(ids)) < 2:
            return {}
        est = HistGradientBoostingClassifier(max_iter=40, early_stopping=False, random_state=seed)
        est.fit(flat, ids)
        proba = est.predict_proba(flat_val)
        pred = np.zeros((len(flat_val), max(task.width, int(est.classes_.max()) + 1, 2)))
        pred[:, est.classes_] = proba
        if task.n_classes <= 2 and task.label_format == "ids":
            pred = proba[:, -1:]  # one unit: the probability of the larger class
    verdict = judge(task, y, y_val, pred)
    return {"metric": verdict.metric, "constant": verdict.constant, "degenerate": verdict.degenerate}
