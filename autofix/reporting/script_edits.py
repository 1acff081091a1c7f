"""The repair as edits to the user's own Keras code.

People who ask "why are my predictions all zero" want to fix their script, not only receive
a new ``.keras`` file. :func:`script_edits` compares the user's model and training setup
with the repair's and writes each difference as Keras code: a layer's constructor before
and after (``Dense(1, activation="relu")`` -> ``Dense(1)``), the ``Normalization`` layer with
its ``adapt`` call, the new ``compile(...)`` and ``fit(...)`` lines, and the target scaling
with the ``Rescaling`` layer that undoes it.

Each edit is a dict:

- ``where``: ``model``, ``compile``, ``fit`` or ``predict`` (what part of a script it edits);
- ``change``: the change in words;
- ``before``: the user's code as autofix writes it (``null`` where the edit only adds code);
- ``after``: the code that replaces ``before``, or that is added after the ``fit`` line;
- ``setup`` (optional): lines to run before the model is built (e.g. ``adapt``).

The code names the user's arrays ``x_train`` and ``y_train``.
"""

from __future__ import annotations

import re

import numpy as np

from autofix._backend import keras
from autofix.model.anatomy import is_graph_model

NORMALIZATION = "autofix_normalization"
UNSCALE = "autofix_unscale_targets"
#: the settings a layer edit may show; the rest of a config (names, dtypes, seeds) is noise
SHOWN = ("units", "filters", "kernel_size", "rate", "activation", "use_bias",
         "kernel_initializer", "bias_initializer", "recurrent_initializer",
         "return_sequences")
#: a constructor's first argument, written without its keyword
POSITIONAL = ("units", "filters", "rate")


def edits_for(problem, best, record: dict, fixed=None) -> list[dict]:
    """The edits from the user's model (``problem``) to the attempt ``best`` (``record``: its
    report entry, which is all an attempt trained by a distributed worker brings back;
    ``fixed``: its model as handed back, when that is not ``best.model``)."""
    after = best.setup
    if after is None:  # a worker's attempt: its setup as its record gives it
        compiled, params = record.get("compiled") or {}, record.get("params") or {}
        changes = {"optimizer": compiled.get("optimizer"),
                   "learning_rate": compiled.get("learning_rate", params.get("learning_rate")),
                   "loss": compiled.get("loss", params.get("loss")),
                   "from_logits": compiled.get("from_logits"), "clipnorm": compiled.get("clipnorm"),
                   "epochs": params.get("epochs"), "batch_size": params.get("batch_size"),
                   "class_weight": params.get("class_weight")}
        after = problem.candidate_setup.replace(
            **{k: v for k, v in changes.items() if v is not None})
    folds = "cross-validation" in (record.get("judged_by") or "")
    return script_edits(problem.given_model, best.model if fixed is None else fixed,
                        problem.setup, after,
                        best_epoch=record.get("best_epoch"), epochs_run=record.get("epochs"),
                        folds=folds, strategies=best.candidate.strategies,
                        params=record.get("params"))


def script_edits(original, fixed, before_setup, after_setup, *, best_epoch=None,
                 epochs_run=None, folds=False, strategies=(), params=None) -> list[dict]:
    """The edits that turn the user's code (``original`` trained with ``before_setup``)
    into the repair (``fixed`` trained with ``after_setup``; ``best_epoch``: the epoch early
    stopping kept, ``epochs_run``: the epochs it trained; ``folds``: it was judged by
    cross-validation, and refit for the folds' median epoch)."""
    params = params or {}
    core = _core(fixed)
    edits = [*_input_edits(original, fixed), *_layer_edits(original, core)]
    if {"reinitialize_weights", "retrain"} & set(strategies) and not any(
            "initializer" in e["after"] for e in edits if e["where"] == "model"):
        edits.append({"where": "model", "change": "start from freshly initialized weights: "
                      "build the model anew instead of reusing the weights it holds (no "
                      "load_weights, no earlier fit)", "before": None,
                      "after": "model = build_model()  # your code that builds the model, run again"})
    unscale = _layer(fixed, UNSCALE)
    compile_edit = _compile_edit(before_setup, after_setup)
    if compile_edit:
        edits.append(compile_edit)
    epochs = _epochs(after_setup, best_epoch, epochs_run, folds, params.get("streamed"))
    edits += _fit_edits(before_setup, after_setup, epochs, unscale, params)
    return edits


def _core(fixed):
    """The user's model inside the fixed one (autofix wraps it between added layers)."""
    name = fixed.name[:-len("_fixed")] if fixed.name.endswith("_fixed") else None
    for layer in getattr(fixed, "layers", []):
        if name and layer.name == name and isinstance(layer, keras.Model):
            return layer
    return fixed


def _layer(model, name):
    return next((layer for layer in model.layers if layer.name == name), None)


def _number(value) -> str:
    return f"{float(value):.6g}"


def _numbers(values) -> str:
    flat = np.asarray(values, dtype="float64").ravel()
    return _number(flat[0]) if flat.size == 1 else "[" + ", ".join(_number(v) for v in flat) + "]"


def _input_edits(original, fixed) -> list[dict]:
    norm = _layer(fixed, NORMALIZATION)
    if norm is None:
        return _per_input_edits(original, fixed)
    shape = tuple(original.inputs[0].shape[1:]) if getattr(original, "inputs", None) else None
    first = f"keras.Input(shape={shape!r})" if shape is not None else "keras.Input(...)"
    edit = {"where": "model", "setup": "normalizer = keras.layers.Normalization()\n"
                                       "normalizer.adapt(x_train)"}
    if isinstance(original, keras.Sequential):
        return [{**edit, "change": "standardize the inputs inside the model: a Normalization "
                 "layer adapted on the training inputs, right after the Input",
                 "before": f"{first},", "after": f"{first},\nnormalizer,"}]
    inner = [layer for layer in original.layers if type(layer).__name__ != "InputLayer"]
    if len(inner) == 1 and isinstance(inner[0], keras.Model) and not is_graph_model(inner[0]):
        return [{**edit, "change": f"standardize the inputs: a Normalization layer adapted on the "
                 f"training inputs, in front of your {type(inner[0]).__name__}", "before": None,
                 "after": f"model = keras.Sequential([{first}, normalizer, model])"}]
    return [{**edit, "change": "standardize the inputs inside the model: a Normalization layer "
             "adapted on the training inputs, applied to the Input before the first layer",
             "before": None, "after": "h = normalizer(inputs)  # then the first layer takes h"}]


def _per_input_edits(original, fixed) -> list[dict]:
    """A model of several inputs: one Normalization per input it standardized."""
    edits = []
    for tensor in getattr(original, "inputs", None) or []:
        name = tensor.name
        if _layer(fixed, f"{NORMALIZATION}_{name}") is None:
            continue
        var = "normalizer_" + "".join(c if c.isalnum() else "_" for c in name)
        edits.append({
            "where": "model",
            "change": f"standardize input {name!r} inside the model: a Normalization layer "
                      "adapted on its training rows, applied to that Input before the layers "
                      "that read it",
            "setup": f"{var} = keras.layers.Normalization()\n"
                     f"{var}.adapt(x_train[{name!r}])  # the training rows of input {name!r}",
            "before": None,
            "after": f"h = {var}({name}_input)  # the layers that read input {name!r} take h"})
    return edits


def _layer_edits(original, core) -> list[dict]:
    edits = []
    fixed_layers = {layer.name: layer for layer in _flat(core)}
    layers = [layer for layer in _flat(original) if type(layer).__name__ != "InputLayer"]
    for i, layer in enumerate(layers, 1):
        new = fixed_layers.get(layer.name)
        if new is None:
            continue
        old_cfg, new_cfg = _settings(layer), _settings(new)
        changed = [k for k in set(old_cfg) | set(new_cfg) if old_cfg.get(k) != new_cfg.get(k)]
        if changed or type(layer) is not type(new):
            edits.append({
                "where": "model",
                "change": f"{_which(i, len(layers))} ({layer.name!r}): " + ", ".join(
                    f"{k} {_value(old_cfg.get(k))} -> {_value(new_cfg.get(k))}" for k in sorted(changed)),
                "before": _constructor(layer, old_cfg),
                "after": _constructor(new, new_cfg),
            })
        if layer.trainable != new.trainable and new.trainable:
            edits.append({"where": "model", "change": f"{_which(i, len(layers))} "
                          f"({layer.name!r}) was frozen: train it",
                          "before": f'model.get_layer("{layer.name}").trainable = False',
                          "after": f'model.get_layer("{layer.name}").trainable = True'})
    return edits


def _which(i: int, n: int) -> str:
    return "the output layer" if i == n else f"layer {i} of {n}"


def _flat(model):
    """Every layer of ``model``, nested models' layers included (not the models)."""
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.Model):
            yield from _flat(layer)
        else:
            yield layer


def _settings(layer) -> dict:
    try:
        config = layer.get_config()
    except Exception:  # noqa: BLE001 - a custom layer without a config: nothing to compare
        return {}
    shown = {}
    for key in SHOWN:
        if key not in config:
            continue
        value = config[key]
        if isinstance(value, dict) and "class_name" in value:  # a serialized initializer
            value = _initializer(value)
        elif isinstance(value, list):
            value = tuple(value)
        shown[key] = value
    return shown


def _initializer(spec: dict) -> str:
    """``"zeros"``, ``"he_normal"``, or ``keras.initializers.Constant(0.5)`` for one with a
    value (its seed is left out: it only numbers the draw)."""
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", spec["class_name"]).lower()
    config = {k: v for k, v in (spec.get("config") or {}).items() if k != "seed" and v is not None}
    if not config:
        return name
    args = ", ".join(f"{k}={v!r}" for k, v in sorted(config.items()))
    return f"keras.initializers.{spec['class_name']}({args})"


def _value(value) -> str:
    if isinstance(value, str) and value.startswith("keras."):
        return value
    return repr(value).replace("'", '"')


def _constructor(layer, settings: dict) -> str:
    args = []
    for key in POSITIONAL:
        if key in settings:
            args.append(_value(settings[key]))
            break
    defaults = {"activation": "linear", "use_bias": True, "kernel_initializer": "glorot_uniform",
                "bias_initializer": "zeros", "recurrent_initializer": "orthogonal",
                "return_sequences": False}
    if type(layer).__name__ == "Activation":
        defaults.pop("activation")
    for key, value in settings.items():
        if key in POSITIONAL and args and _value(value) == args[0]:
            continue
        if defaults.get(key, object()) == value:
            continue
        text = value if isinstance(value, str) and value.startswith("keras.") else _value(value)
        args.append(f"{key}={text}")
    return f"keras.layers.{type(layer).__name__}({', '.join(args)})"


def optimizer_code(setup) -> str:
    """``keras.optimizers.Adam(learning_rate=0.001)`` for ``setup``'s optimizer (settings
    that differ from the optimizer's defaults included)."""
    optimizer = setup.make_optimizer()
    cls = type(optimizer)
    try:
        default = cls().get_config()
    except Exception:  # noqa: BLE001 - an optimizer of the user's own that needs arguments
        default = {}
    config = optimizer.get_config()
    args = [f"learning_rate={_number(setup.learning_rate)}"]
    for key in sorted(config):
        if key in ("name", "learning_rate") or config[key] == default.get(key):
            continue
        args.append(f"{key}={_value(config[key])}")
    return f"keras.optimizers.{cls.__name__}({', '.join(args)})"


def loss_code(setup) -> str:
    if setup.uses_custom_loss:
        return f"{setup.loss}  # your own loss"
    if setup.from_logits:
        return f"keras.losses.{type(setup.make_loss()).__name__}(from_logits=True)"
    return f'"{setup.loss}"'


def compile_code(setup) -> str:
    return f"model.compile(optimizer={optimizer_code(setup)}, loss={loss_code(setup)})"


def _compile_edit(before, after) -> dict | None:
    old, new = compile_code(before), compile_code(after)
    if old == new and before.compiled:
        return None
    what = []
    if optimizer_code(before) != optimizer_code(after):
        what.append(f"optimizer {optimizer_code(before)} -> {optimizer_code(after)}")
    if loss_code(before) != loss_code(after):
        what.append(f"loss {loss_code(before)} -> {loss_code(after)}")
    return {"where": "compile", "change": "; ".join(what) or "compile the model",
            "before": old if before.compiled else None, "after": new}


def _epochs(after, best_epoch, epochs_run, folds, streamed=None) -> tuple[int, str]:
    """(the epochs the fixed model trained, where that number comes from)."""
    if streamed and streamed.get("best_epoch"):
        return int(streamed["best_epoch"]), (" (on the whole dataset, the epoch whose loss on "
                                             "held-out rows was lowest)")
    if folds:
        return int(after.epochs), " (the median of the epochs early stopping kept in 5 folds)"
    if after.early_stopping and best_epoch:
        return int(best_epoch), " (the epoch autofix's early stopping kept)"
    if after.early_stopping and epochs_run:
        return int(epochs_run), " (trained until early stopping ended the run)"
    return int(after.epochs), ""


def _fit_edits(before, after, epochs_and_why, unscale, params) -> list[dict]:
    epochs, why = epochs_and_why
    y = "y_train"
    edits = []
    setup_lines = []
    divide_by = (params.get("label_map") or {}).get("divide_by")
    if divide_by:  # fractional ids trained as 0..K (the fixed model's unit k: label k * divide_by)
        y = f"np.rint(y_train / {_number(divide_by)})"
    if unscale is not None:
        scale = np.asarray(unscale.scale, dtype="float64")
        offset = np.asarray(unscale.offset, dtype="float64")
        setup_lines.append(f"y_mean, y_std = np.array({_numbers(offset)}), "
                           f"np.array({_numbers(scale)})  # of the training targets")
        y = "(y_train - y_mean) / y_std"
    old = f"model.fit(x_train, y_train, epochs={int(before.epochs)}, batch_size={int(before.batch_size)})"
    extra = f", class_weight={_class_weight(after.class_weight)}" if after.class_weight else ""
    new = f"model.fit(x_train, {y}, epochs={epochs}, batch_size={int(after.batch_size)}{extra})"
    if new != old:
        what = []
        if epochs != int(before.epochs):
            what.append(f"epochs {int(before.epochs)} -> {epochs}{why}")
        if int(after.batch_size) != int(before.batch_size):
            what.append(f"batch_size {int(before.batch_size)} -> {int(after.batch_size)}")
        if extra:
            what.append("classes weighted by their rarity")
        if unscale is not None:
            what.append("trained on standardized targets")
        edit = {"where": "fit", "change": "; ".join(what), "before": old, "after": new}
        if setup_lines:
            edit["setup"] = "\n".join(setup_lines)
        edits.append(edit)
    if unscale is not None:
        edits.append({"where": "predict", "change": "the trained model predicts standardized "
                      "targets: a Rescaling layer after it gives predictions in y's own units",
                      "before": None,
                      "after": "model = keras.Sequential([model, keras.layers.Rescaling("
                               "scale=y_std, offset=y_mean)])"})
    return edits


def _class_weight(weights: dict) -> str:
    return "{" + ", ".join(f"{int(k)}: {_number(v)}" for k, v in sorted(weights.items())) + "}"


def as_text(edits: list[dict]) -> str:
    """The edits as a numbered list of code changes, for a terminal or a text file."""
    lines = []
    for i, edit in enumerate(edits, 1):
        where = edit["where"] + (f", output {edit['output']!r}" if edit.get("output") else "")
        lines.append(f"{i}. [{where}] {edit['change']}")
        for line in (edit.get("setup") or "").splitlines():
            lines.append(f"     {line}")
        if edit.get("before"):
            lines += [f"   - {line}" for line in edit["before"].splitlines()]
        lines += [f"   + {line}" for line in edit["after"].splitlines()]
    return "\n".join(lines)
