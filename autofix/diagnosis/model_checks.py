"""Findings from the model itself: output head, loss, initialization, units, gradients."""

from __future__ import annotations

import numpy as np

from autofix._backend import keras, set_seed, tf
from autofix.diagnosis import data_checks
from autofix.diagnosis.findings import Finding
from autofix.inputs.task import (
    MAX_CLASS_WIDTH,
    Task,
    default_loss,
    label_step,
    wanted_output,
)
from autofix.judge import judge
from autofix.model.anatomy import (
    HEAVY_DROPOUT,
    activation_name,
    dropout_rates,
    kernel_layers,
    output_activation,
    output_parameter_layer,
    output_units,
    parameter_layers,
)
from autofix.model.surgery import RELU_LIKE, bottlenecks
from autofix.training.fit import predict
from autofix.training.training_setup import PROBABILISTIC_LOSSES, REGRESSION_LOSSES

CONSTANT_INITIALIZERS = {"zeros", "ones", "constant"}
POSITIVE_ONLY = {"relu", "softplus", "exponential", "relu6"}


def output_activation_mismatch(model, task: Task, setup, y: np.ndarray) -> list[Finding]:
    head, act = output_activation(model)
    units = output_units(model)
    want_act, want_units = wanted_output(task, units)
    problems = []
    if task.kind == "regression":
        lo, hi = float(np.min(y)), float(np.max(y))
        below = float(np.mean(y < 0))
        if act in POSITIVE_ONLY and lo < 0:
            problems.append(f"the output layer '{head.name}' uses {act}, which cannot go below 0, "
                            f"but {below:.0%} of the targets are negative (min {lo:.3g})")
        elif act == "sigmoid" and (lo < 0 or hi > 1):
            problems.append(f"the output layer '{head.name}' uses sigmoid (0..1) but targets span "
                            f"{lo:.3g}..{hi:.3g}")
        elif act == "tanh" and (lo < -1 or hi > 1):
            problems.append(f"the output layer '{head.name}' uses tanh (-1..1) but targets span "
                            f"{lo:.3g}..{hi:.3g}")
        elif act == "softmax":
            what = "always outputs 1.0" if units == 1 else "forces the outputs to sum to 1"
            problems.append(f"the output layer '{head.name}' uses softmax, which {what}, on "
                            f"regression targets spanning {lo:.3g}..{hi:.3g}")
    else:
        if act == "softmax" and units == 1:
            problems.append(f"softmax over one unit in '{head.name}' always outputs 1.0, whatever "
                            "the input")
        elif units != want_units and not (task.label_format == "ids"
                                          and units >= max(2, task.n_classes)):
            # (ids that outnumber no unit but exceed the head are label_encoding's case)
            ids = (f" (ids up to {task.width - 1}: unit k is class id k)"
                   if task.label_format == "ids" and task.width > task.n_classes else "")
            problems.append(f"the output layer '{head.name}' has {units} units but y has "
                            f"{task.n_classes} classes{ids}")
        if act in POSITIVE_ONLY | {"linear", "tanh"} and setup.loss in PROBABILISTIC_LOSSES \
                and not setup.from_logits:
            problems.append(f"the output layer '{head.name}' uses {act} under {setup.loss}, which "
                            "expects probabilities (sigmoid/softmax) or from_logits=True")
        elif act in POSITIVE_ONLY and setup.loss not in PROBABILISTIC_LOSSES:
            problems.append(f"the output layer '{head.name}' uses {act} for a {task.kind} task; "
                            f"class probabilities need {want_act}")
    if not problems:
        return []
    return [Finding("output_activation_mismatch", "error",
                    "; ".join(problems) + f"; use {want_act} over {want_units} unit(s)",
                    {"layer": head.name, "activation": act, "units": units,
                     "wanted_activation": want_act, "wanted_units": want_units})]


def loss_mismatch(model, task: Task, setup) -> list[Finding]:
    if not setup.compiled or not setup.loss:
        return []
    loss, units = setup.loss, output_units(model)
    _, act = output_activation(model)
    severity, why = "error", ""
    if task.kind == "regression" and loss in PROBABILISTIC_LOSSES:
        why = f"{loss} is a classification loss, but y holds continuous values"
    elif task.kind != "regression" and loss in REGRESSION_LOSSES | {"hinge", "squared_hinge"}:
        fmt = {"onehot": "one-hot classes", "ids": "class ids", "indicator": "0/1 labels"}[task.label_format]
        why = (f"{loss} on {fmt} treats class labels as numbers to regress: outputs drift to the "
               "label average and the loss can look small while nothing is learned")
    elif task.label_format == "onehot" and loss == "sparse_categorical_crossentropy":
        why = "sparse_categorical_crossentropy expects integer class ids, but y is one-hot"
    elif task.label_format == "ids" and loss in ("categorical_crossentropy", "categorical_focal_crossentropy"):
        if units == 1:
            why = ("categorical_crossentropy over a single output unit is always 0: the loss "
                   "cannot move")
        else:
            why = "categorical_crossentropy expects one-hot rows, but y holds integer class ids"
    elif task.kind == "multilabel" and loss in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        why = f"{loss} assumes one class per row, but y is multilabel"
    elif task.kind == "multiclass" and loss == "binary_crossentropy" and task.label_format == "ids":
        why = (f"binary_crossentropy expects one 0/1 target per output unit, but y holds "
               f"integer class ids ({task.n_classes} classes in one column)")
    elif task.kind == "multiclass" and loss == "binary_crossentropy" and units > 2:
        severity = "warning"
        why = "binary_crossentropy on one-hot multiclass rows scores each class separately"
    elif setup.from_logits and act in ("softmax", "sigmoid"):
        severity = "warning"
        why = f"from_logits=True while the output already applies {act}: probabilities squashed twice"
    if not why:
        return []

    want = default_loss(task, wanted_output(task, units)[1])
    return [Finding("loss_mismatch", severity, f"{why}; use {want}",
                    {"loss": loss, "task": task.kind, "label_format": task.label_format,
                     "wanted_loss": want, "from_logits": setup.from_logits})]


#: losses that read one target per output unit (one-hot rows or distributions), not ids
ROW_LOSSES = {"kl_divergence", "categorical_hinge"}
BINARY_LOSSES = {"binary_crossentropy", "binary_focal_crossentropy"}


def _labels_text(values) -> str:
    v = [float(x) for x in values]
    shown = [f"{x:g}" for x in v]
    return ", ".join(shown) if len(shown) <= 4 else f"{shown[0]}, {shown[1]}, ..., {shown[-1]}"


def label_plan(task: Task, units: int, setup, model=None) -> dict | None:
    """How the labels must be re-read for the head and loss to use them, or None.

    Unit k of a multi-unit head is class id k. Problems (``problems``), each with the
    repair that :mod:`autofix.strategies.fix_label_encoding` applies:

    - ``ids_exceed_head``: integer ids the head has no unit for although it has a unit per
      class (labels 1..K over K units; 0, 10, ..., 90 over 10 units, ids scaled by the
      constant ``scaled_by``): widen the head to the largest id + 1 (``wanted_units``), so
      the labels keep their values;
    - ``scaled_ids``: fractional labels that are ids times a constant (0.0, 0.1, ..., 0.9),
      which the head's width shows: train on y / constant (``divide_by``), reported as the
      fix's ``label_map`` (a unit cannot be numbered 0.1);
    - ``not_unit_ids``: negative or fractional labels that cannot index a unit: each
      class's unit is its rank (``label_map``);
    - ``not_01``: two labels other than 0/1 under a 0/1 loss on one sigmoid unit: the
      unit learns the probability of the larger label;
    - ``ids_for_rows``: class ids under a loss that reads one target per unit
      (``kl_divergence``, ``categorical_hinge``, binary cross-entropy over several units)
      that :func:`loss_mismatch` does not already report: the loss for ids (``loss``).
    """
    if task.label_format != "ids" or task.kind not in ("binary", "multiclass"):
        return None
    if units == 1 and task.kind == "multiclass":
        return None  # a one-unit head on many classes: output_activation_mismatch's case
    classes = np.asarray(task.classes, dtype="float64")
    plan = {"problems": [], "labels": [float(c) for c in classes[:20]], "units": units,
            "wanted_units": units, "divide_by": None, "label_map": None, "loss": None}
    loss = setup.loss if setup.compiled else ""
    if units >= 2 and (not task.unit_ids or task.width > units):
        step = label_step(classes)
        step = int(step) if step is not None and float(step).is_integer() else step
        scaled = None if step is None else int(round(classes.max() / step)) + 1
        if task.unit_ids and task.n_classes <= units and task.width <= MAX_CLASS_WIDTH:
            # integer labels keep their values (the head gets a unit per id up to the
            # largest: 0, 10, ..., 90 over 91 units, so the fixed model's argmax is the label)
            plan["problems"].append("ids_exceed_head")
            plan["wanted_units"] = task.width
            if scaled is not None and step != 1 and scaled <= max(units, task.n_classes + 1):
                plan["scaled_by"] = step
        elif scaled is not None and scaled <= max(units, task.n_classes + 1):
            plan["problems"].append("scaled_ids")
            plan["divide_by"] = step
            plan["wanted_units"] = max(units, scaled)
            plan["label_map"] = {"divide_by": step}
        elif not task.unit_ids:
            plan["problems"].append("not_unit_ids")
            plan["label_map"] = {f"{c:g}": k for k, c in enumerate(classes)}
    if units == 1 and task.n_classes == 2 and loss in BINARY_LOSSES and \
            not set(classes.tolist()) <= {0.0, 1.0}:
        plan["problems"].append("not_01")
        plan["label_map"] = {f"{classes[0]:g}": 0, f"{classes[1]:g}": 1}
    if units >= 2 and (loss in ROW_LOSSES or loss in BINARY_LOSSES and task.kind == "binary") \
            and (model is None or not loss_mismatch(model, task, setup)):

        plan["problems"].append("ids_for_rows")
        plan["loss"] = default_loss(task, units)
    return plan if plan["problems"] else None


def label_encoding(model, task: Task, setup) -> list[Finding]:
    """Class labels that the output head or the loss cannot read as they are."""
    units = output_units(model)
    plan = label_plan(task, units, setup, model)
    if plan is None:
        return []
    head, act = output_activation(model)
    classes = np.asarray(task.classes, dtype="float64")
    shown, loss = _labels_text(classes), setup.loss if setup.compiled else ""
    parts = []
    for problem in plan["problems"]:
        if problem == "scaled_ids":
            c = plan["divide_by"]
            ids = f"0..{plan['wanted_units'] - 1}" if plan["wanted_units"] > 1 else "0"
            consequence = ("fractional labels cannot index units (sparse_categorical_crossentropy "
                           "casts them to integers, merging classes)" if not task.unit_ids else
                           f"label {classes.max():g} has no unit among {units}, so "
                           "sparse_categorical_crossentropy fails or learns garbage")
            parts.append(
                f"labels {shown} are class ids scaled by {c:g}: the {units}-unit {act} head "
                f"'{head.name}' shows the classes the labels mean, but {consequence}; train on "
                f"y / {c:g} (ids {ids}): the fixed model's unit k is the class labelled "
                f"{c:g}*k (multiply its argmax by {c:g} to get your labels)")
        elif problem == "ids_exceed_head":
            scaled = (f" (they look like ids 0..{units - 1} scaled by {plan['scaled_by']:g}, the "
                      "head's width; the repair keeps your labels rather than re-coding them)"
                      if plan.get("scaled_by") else "")
            parts.append(
                f"class ids {shown}{scaled} do not fit the {units}-unit head '{head.name}': unit k is "
                f"the probability of class id k (Keras' convention for sparse labels), so id "
                f"{task.width - 1:g} has no unit and sparse_categorical_crossentropy fails or "
                f"learns garbage; widen the head to {plan['wanted_units']} units (ids as they "
                "are: the fixed model's argmax is your label)")
        elif problem == "not_unit_ids":
            parts.append(
                f"labels {shown} cannot index output units (negative or fractional): "
                "sparse_categorical_crossentropy reads them as integer unit numbers; train "
                f"on their rank (unit k is the k-th smallest label: {plan['label_map']})")
        elif problem == "not_01":
            parts.append(
                f"{loss} needs 0/1 targets but y holds {shown}: its loss has no minimum on "
                f"them; train on (y == {classes[1]:g}): the sigmoid unit is the probability "
                f"of label {classes[1]:g}")
        elif problem == "ids_for_rows":
            parts.append(
                f"{loss} over the {units}-unit head reads one target per unit (one-hot rows), "
                f"but y holds class ids in one column: every unit is pushed toward the id; "
                f"use {plan['loss']}")
    evidence = {k: v for k, v in plan.items() if v is not None}
    evidence["layer"] = head.name
    return [Finding("label_encoding", "error", "; ".join(parts), evidence)]


def _initializer_name(layer) -> str:
    init = layer.get_config().get("kernel_initializer")
    if isinstance(init, dict):
        return str(init.get("class_name", "")).lower()
    return str(init or "").lower()


def symmetric_init(model) -> list[Finding]:
    layers = []
    for layer in kernel_layers(model):
        kernel = np.asarray(layer.kernel)
        units = kernel.shape[-1]
        init = _initializer_name(layer)
        cols = kernel.reshape(-1, units)
        identical = units > 1 and np.allclose(cols, cols[:, :1], atol=1e-8, rtol=0)
        constant_init = units > 1 and init in CONSTANT_INITIALIZERS
        if identical or constant_init:
            layers.append((layer.name, init or "?", float(np.abs(kernel).max())))
    if not layers:
        return []
    names = ", ".join(f"'{n}'" for n, _, _ in layers)
    return [Finding(
        "symmetric_init", "error",
        f"{len(layers)} layer(s) ({names}) start with identical weights for every unit "
        f"(initializer {layers[0][1]}); identical units get identical gradients and can never "
        "differ, so the network behaves like one unit per layer",
        {"layers": [n for n, _, _ in layers], "initializers": [i for _, i, _ in layers],
         "max_abs_kernel": [m for _, _, m in layers]},
    )]


def _relu_layers(model):
    """Hidden layers that apply a ReLU (not the output head): a Dense/Conv with
    ``activation="relu"``, or a separate ``ReLU``/``Activation("relu")`` layer."""
    head, _ = output_activation(model)
    relu = RELU_LIKE - {"elu", "selu", "gelu", "silu", "swish", "mish"}
    return [layer for layer in model.layers
            if layer is not head and activation_name(layer) in relu
            and (getattr(layer, "kernel", None) is not None or not layer.weights)]


#: output activations and the values at which they pass no gradient
SATURATION = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "softmax": (0.0, 1.0),
              "hard_sigmoid": (0.0, 1.0)}


def _stuck_output(head, activation: str, out: np.ndarray) -> str | None:
    """Why the output layer passes no gradient on these rows, or None if it does."""
    a = out.reshape(len(out), -1)
    if activation in RELU_LIKE - {"elu", "selu", "gelu", "silu", "swish", "mish"} and \
            not (a > 0).any():
        return (f"the output layer '{head.name}' ({activation}) outputs 0 on every row: its "
                f"{a.shape[1]} unit(s) are dead, no gradient reaches any weight, and the model "
                "can only predict 0")
    if activation in SATURATION:
        lo, hi = SATURATION[activation]
        pinned = np.minimum(np.abs(a - lo), np.abs(a - hi)) < 1e-6
        if activation == "softmax" and a.shape[1] == 1:
            return None  # always 1.0: an activation mismatch, not a saturation
        upper = a > (lo + hi) / 2
        same_side = (upper == upper[:1]).all()  # a confident classifier pins rows at both ends
        if pinned.all() and same_side:
            return (f"the output layer '{head.name}' ({activation}) is saturated at the same "
                    f"limit on every row: its gradient is ~0, so training cannot move it")
    return None


def dead_units(model, x: np.ndarray) -> list[Finding]:
    """Units that pass no gradient on the data: hidden ReLUs that never activate, or an
    output layer that is dead (ReLU at 0) or saturated (sigmoid/tanh/softmax at a limit)."""
    layers = _relu_layers(model)
    head, head_act = output_activation(model)
    rows = x[:512]
    try:
        probe = keras.Model(model.inputs, [layer.output for layer in layers] + [head.output])
        outs = probe(rows, training=False)
    except Exception:  # noqa: BLE001 - nested or unusual graphs: no evidence, no finding
        return []
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    worst, fractions = None, {}
    outs = [np.asarray(out, dtype="float64") for out in outs]
    if not all(np.isfinite(out).all() for out in outs):
        return []  # NaN activations: nonfinite weights or inputs, not dead units
    for layer, out in zip(layers, outs[:-1]):
        a = out.reshape(len(rows), -1, out.shape[-1])
        alive = (a > 0).any(axis=(0, 1))
        frac = 1.0 - float(alive.mean())
        fractions[layer.name] = frac
        if worst is None or frac > worst[1]:
            worst = (layer.name, frac, int((~alive).sum()), alive.size)
    stuck = _stuck_output(head, head_act, outs[-1])
    parts, severity = [], "warning"
    if worst is not None and worst[1] >= 0.5:
        parts.append(f"{worst[2]} of {worst[3]} ReLU units in '{worst[0]}' never activate on the "
                     f"data ({worst[1]:.0%}); dead units pass no gradient and never recover")
        severity = "error" if worst[1] >= 0.99 else "warning"
    if stuck:
        parts.append(stuck)
        severity = "error"
    if not parts:
        return []
    return [Finding(
        "dead_units", severity, "; ".join(parts) + "; re-initialize the weights (zero biases)",
        {"dead_fraction": fractions, "output_layer": head.name if stuck else None,
         "output_stuck": bool(stuck), "rows": int(len(rows))},
    )]


def vanishing_gradients(model, setup, x: np.ndarray, y_encoded: np.ndarray, seed: int = 0) -> list[Finding]:
    layers = kernel_layers(model)
    if len(layers) < 3:
        return []
    set_seed(seed)
    try:
        fresh = keras.models.clone_model(model)
        xb = tf.constant(x[:256])
        yb = tf.constant(y_encoded[:256])
        loss_fn = setup.make_loss()
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, fresh(xb, training=True))
        kernels = [layer.kernel for layer in kernel_layers(fresh)]
        grads = tape.gradient(loss, kernels)
    except Exception:  # noqa: BLE001 - no evidence, no finding
        return []
    norms = [float(np.linalg.norm(np.asarray(g))) if g is not None else 0.0 for g in grads]
    first, last = norms[0], norms[-1]
    if last <= 0 or first <= 0 or not np.isfinite(first) or not np.isfinite(last):
        return []
    ratio = first / last
    if ratio >= 1e-4:
        return []
    return [Finding(
        "vanishing_gradients", "error",
        f"at initialization the first layer's gradient is {ratio:.1e} times the last layer's "
        f"({len(layers)} layers): early layers barely learn; saturating activations "
        "(sigmoid/tanh) stacked deep are the usual cause",
        {"gradient_norms": dict(zip([layer.name for layer in layers], norms)), "ratio": ratio},
    )]


#: below this share of its hidden parameters trainable, a model practically cannot learn
FROZEN_SHARE = 0.05


def _underfits(problem) -> tuple[bool, dict]:
    """Whether the given model fails to learn: its validation predictions are no better
    than the constant baseline, or it gains less than half of what a quick scikit-learn
    model gains over that baseline. (True, evidence) or (False, evidence); cached."""
    key = ("model_checks", "underfits")
    if key in problem.cache:
        return problem.cache[key]

    given = judge(problem.task, problem.y, problem.y_val, predict(problem.model, problem.x_val))
    evidence = {"metric": given.metric, "constant": given.constant}
    verdict = bool(given.degenerate)
    if verdict:
        evidence["why"] = "its predictions are no better than the constant baseline"
    else:
        try:
            ref = data_checks.reference_signal(problem.task, problem.x, problem.y,
                                               problem.x_val, problem.y_val, problem.seed)
        except Exception:  # noqa: BLE001 - evidence only
            ref = {}
        if ref and not ref.get("degenerate", True):
            evidence["reference_metric"] = ref["metric"]
            gain, ref_gain = given.metric - given.constant, ref["metric"] - ref["constant"]
            if gain < 0.5 * ref_gain:
                verdict = True
                evidence["why"] = (f"it gains {gain:.3g} over the constant baseline where a quick "
                                   f"scikit-learn model gains {ref_gain:.3g}")
    problem.cache[key] = (verdict, evidence)
    return verdict, evidence


def frozen_layers(model, problem) -> list[Finding]:
    """Layers set ``trainable=False``. An error when (almost) nothing outside the output
    layer can train and the model does not learn; a warning when some hidden layers are
    frozen and the model does not learn, or when nothing at all can train. A frozen
    feature extractor under a head that learns (fine-tuning) is left alone."""
    try:
        rows = parameter_layers(model)
        head = output_parameter_layer(model)
    except Exception:  # noqa: BLE001 - an unusual graph: no evidence, no finding
        return []
    frozen = [(layer, count) for layer, count, trains in rows if not trains]
    if not frozen:
        return []
    total = sum(count for _, count, _ in rows)
    trainable = sum(count for _, count, trains in rows if trains)
    hidden = [(count, trains) for layer, count, trains in rows if layer is not head]
    hidden_total = sum(count for count, _ in hidden)
    hidden_share = (sum(count for count, trains in hidden if trains) / hidden_total
                    if hidden_total else float(trainable > 0))
    underfit, why = _underfits(problem)
    if trainable == 0:
        severity = "error" if underfit else "warning"
        what = "every layer is frozen (trainable=False): no weight can change, whatever the training"
    elif hidden_share < FROZEN_SHARE:
        severity = "error" if underfit else None
        what = (f"only {hidden_share:.0%} of the parameters outside the output layer can train: "
                "the frozen layers keep their random start")
    else:
        severity = "warning" if underfit else None
        what = f"{len(frozen)} layer(s) are frozen (trainable=False)"
    if severity is None:
        return []
    names = ", ".join(f"'{layer.name}'" for layer, _ in frozen[:8])
    more = f" and {len(frozen) - 8} more" if len(frozen) > 8 else ""
    tail = f", and the model does not learn ({why['why']})" if underfit else ""
    return [Finding(
        "frozen_layers", severity,
        f"{what}{tail}; frozen: {names}{more}; make them trainable",
        {"frozen_layers": [layer.name for layer, _ in frozen],
         "trainable_parameters": trainable, "parameters": total,
         "hidden_trainable_share": hidden_share, "underfits": underfit, **why},
    )]


#: a heavy dropout rate (anatomy.HEAVY_DROPOUT) is a warning when the model does not learn,
#: and at or above this an error: most of what each layer passes on is dropped
HEAVY_DROPOUT_ERROR = 0.75


def heavy_dropout(model, problem) -> list[Finding]:
    """Dropout layers (and recurrent layers' ``dropout``/``recurrent_dropout``) that drop at
    least half of what passes, while the model does not learn. A model that learns under
    heavy dropout is left alone."""
    heavy = {name: rate for name, rate in dropout_rates(model).items() if rate >= HEAVY_DROPOUT}
    if not heavy:
        return []
    underfit, why = _underfits(problem)
    if not underfit:
        return []
    top = max(heavy.values())
    severity = "error" if top >= HEAVY_DROPOUT_ERROR else "warning"
    names = ", ".join(f"'{name}' {rate:g}" for name, rate in list(heavy.items())[:8])
    return [Finding(
        "heavy_dropout", severity,
        f"dropout drops {top:.0%} of what reaches it ({names}), and the model does not learn "
        f"({why['why']}); lower the rates (0.1-0.3 is usual)",
        {"dropout_rates": heavy, "underfits": underfit, **why},
    )]


def narrow_bottleneck(model, problem) -> list[Finding]:
    """A hidden layer that every path to the output passes through and that is narrower
    than the output (a Dense(2) in front of 10 classes), or at most two wide on an input
    with many values, while the model does not learn."""
    try:
        sites = bottlenecks(model)
    except Exception:  # noqa: BLE001 - an unusual graph: no evidence, no finding
        return []
    if not sites:
        return []
    underfit, why = _underfits(problem)
    if not underfit:
        return []
    parts = []
    for site in sites:
        where = (f"to an output of {site['output_width']} value(s)"
                 if site["narrower_than_output"] else
                 f"from an input of {site['input_values']} values")
        parts.append(f"'{site['layer']}' ({site['class']}, {site['key']}={site['width']}) "
                     f"passes only {site['values']} value(s) per row {where}")
    return [Finding(
        "narrow_bottleneck", "error",
        f"{'; '.join(parts)}, and the model does not learn ({why['why']}): everything the "
        "output sees is squeezed through it; widen it (to "
        f"{', '.join(str(s['wanted']) for s in sites)})",
        {"layers": [s["layer"] for s in sites], "widths": [s["width"] for s in sites],
         "values": [s["values"] for s in sites], "wanted": [s["wanted"] for s in sites],
         "output_width": sites[0]["output_width"], **why},
    )]
