"""Load Keras models safely (safe mode, Keras 2 files recompiled), and check that a model is one
autofix can work on."""

from __future__ import annotations

import inspect
import json
import re
import zipfile
from pathlib import Path

from autofix._backend import keras
from autofix.errors import InputError, brief, error_text, existing_file
from autofix.inputs.file_kinds import DATA_KINDS, KIND_WORDS, file_kind
from autofix.model.packing import layout_of
from autofix.model.surgery import compiled_like
from autofix.training.training_setup import LOSS_ALIASES, canonical_loss


def load_model(path: str | Path, *, unsafe: bool = False, notes: list | None = None,
               custom_objects: dict | None = None):
    """Load a ``.keras`` (or legacy ``.h5``) model in Keras' safe mode.

    Arbitrary-code layers (``Lambda``) load only with ``unsafe=True``, which the CLI
    exposes as ``--unsafe-load``. Every failure is one :class:`InputError` line.

    A legacy ``.h5`` whose compile settings Keras cannot restore (Keras 3 fails on files
    compiled with ``loss="mse"``) is loaded uncompiled, still in safe mode, and compiled
    again with the optimizer and loss read from the file's ``training_config`` (JSON). When
    ``notes`` is a list, one plain-English line saying so is appended to it.
    ``custom_objects``: the user's classes and functions by name (``--import``).
    """
    p = existing_file(path, "a .keras model file")
    path = str(path)
    suffix = p.suffix.lower()
    _check_model_file(path, suffix)
    try:
        model = keras.models.load_model(path, safe_mode=not unsafe, compile=True,
                                    custom_objects=custom_objects)
    except Exception as err:  # noqa: BLE001 - Keras raises many types for bad files
        if suffix == ".keras":
            raise _load_error(err, path) from None
        try:  # a legacy .h5 whose model loads but whose compile settings do not
            model = keras.models.load_model(path, safe_mode=not unsafe, compile=False,
                                        custom_objects=custom_objects)
        except Exception as again:  # noqa: BLE001
            raise _load_error(again, path) from None
        if isinstance(model, keras.Model):
            note = _recompile_from_training_config(model, path, err)
            if notes is not None:
                notes.append(note)
    if not isinstance(model, keras.Model):
        raise InputError("does not hold a Keras model", path=path)
    return check_model(model, source=path)


SAVE_HINT = 'MODEL is a file written by model.save("model.keras") (or a legacy .h5)'


def _check_model_file(path: str, suffix: str) -> None:
    """Refuse, by its content, a file that cannot be a model: data, a weights file..."""
    kind = file_kind(path)
    if kind in DATA_KINDS:
        raise InputError(f"is {KIND_WORDS[kind]}, not a Keras model; {SAVE_HINT}", path=path)
    if kind == "hdf5":
        raise InputError("is an HDF5 file without a model in it (a weights file from "
                         'save_weights?); save the whole model with model.save("model.keras")',
                         path=path)
    if kind == "keras" and suffix != ".keras":
        raise InputError("is a .keras model archive with another name; rename it to end in .keras",
                         path=path)
    if kind == "h5model" and suffix not in (".h5", ".hdf5"):
        raise InputError("is a legacy .h5 model with another name; rename it to end in .h5", path=path)
    if kind == "zip" and suffix == ".keras":
        raise InputError(f"is a zip archive but not a Keras model (no config.json in it); {SAVE_HINT}",
                         path=path)
    if suffix not in (".keras", ".h5", ".hdf5"):
        raise InputError(f"unsupported model file type {suffix or '(none)'}; expected .keras or .h5", path=path)
    if suffix == ".keras" and kind != "keras":
        raise InputError("not a Keras model archive (a .keras file is a zip); was it truncated?", path=path)


_MISSING = (
    re.compile(r"Could not locate (class|function) '([^']+)'"),
    re.compile(r"Unknown (layer|object|[a-z]+ function|initializer|regularizer|constraint): "
               r"'([^']+)'"),
)


def _load_error(err: BaseException, path: str) -> InputError:
    """One line for a model Keras refused to load."""
    text = " ".join(str(err).split())
    lowered = text.lower()
    for pattern in _MISSING:
        found = pattern.search(text)
        if found:
            what, name = found.group(1), found.group(2).split(">")[-1]  # "Custom>MyLayer"
            return _missing_class_error(path, name, "function" if "function" in what else "class")
    if "safe_mode" in lowered or "lambda" in lowered:
        return InputError(
            "holds a Lambda or other arbitrary-code layer, which safe mode refuses to load; "
            "if you trust this file, pass --unsafe-load",
            path=path,
        )
    return InputError(f"could not load the model ({text[:200]})", path=path)


def _missing_class_error(path: str, name: str, what: str) -> InputError:
    if what == "class" and name == _top_class_name(path):
        return InputError(
            f"is a subclassed model (class '{name}'), which Keras cannot rebuild without its "
            "Python code (--unsafe-load does not help); name the file or module that defines "
            "it with --import my_models.py (it runs that code; the class needs "
            "@keras.saving.register_keras_serializable and a get_config), or in Python pass "
            "the model itself to autofix.repair",
            path=path,
        )
    return InputError(
        f"uses the custom {what} '{name}', whose code Keras cannot import here "
        "(--unsafe-load does not help); name the file or module that defines it with "
        "--import my_layers.py (it runs that code), or in Python pass it in "
        "custom_objects={...} (or load the model yourself) and call autofix.repair",
        path=path,
    )


def _top_class_name(path: str) -> str | None:
    """The class name of the saved model itself, read from the file's JSON config."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
        else:
            import h5py

            with h5py.File(path, "r") as handle:
                config = json.loads(_text(handle.attrs["model_config"]))
        return config.get("class_name")
    except Exception:  # noqa: BLE001 - no readable config: no name to compare
        return None


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _recompile_from_training_config(model, path: str, err: BaseException) -> str:
    """Compile ``model`` with the optimizer and loss from the .h5 file's ``training_config``.

    Returns the note for the user. Reads JSON only (``h5py`` attributes), never pickle, and
    builds only Keras' own optimizers and losses. If the setup cannot be recovered the model
    stays uncompiled, and the note says so.
    """
    reason = brief(err, 120)
    head = f"{path}: Keras could not restore how it was compiled ({reason})"
    try:
        import h5py

        with h5py.File(path, "r") as handle:
            raw = handle.attrs.get("training_config")
            if raw is None:
                raise ValueError("the file has no training_config")
            config = json.loads(_text(raw))
        optimizer = _optimizer_from_config(config.get("optimizer_config"))
        loss = _loss_from_config(config.get("loss"))
        model.compile(optimizer=optimizer, loss=loss)
    except Exception as failure:  # noqa: BLE001 - any failure leaves the model uncompiled
        why = brief(failure, 120)
        return (f"{head}; loaded it uncompiled (its training_config could not be used: {why}); "
                "autofix takes Adam and the task's usual loss as the original setup")

    rate = optimizer.get_config().get("learning_rate")
    rate = f"{float(rate):.4g}" if isinstance(rate, (int, float)) else "a schedule"
    return (f"{head}; loaded it uncompiled and compiled it again from its training_config: "
            f"{type(optimizer).__name__}(learning_rate={rate}), loss {canonical_loss(loss)[0]}")


def _builtin(module, class_name, base):
    """The built-in Keras class ``module.class_name`` if it subclasses ``base``, else None."""
    class_name = str(class_name).split(">")[-1].split(".")[-1]  # Keras 2: "Custom>Adam"
    cls = getattr(module, class_name, None)
    return cls if isinstance(cls, type) and issubclass(cls, base) else None


def _accepted(cls, config: dict, drop=()) -> dict:
    """The items of ``config`` that ``cls.__init__`` names as parameters."""
    params = inspect.signature(cls.__init__).parameters
    named = {n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return {key: value for key, value in config.items() if key in named and key not in drop}


def _optimizer_from_config(spec):
    if isinstance(spec, str):
        spec = {"class_name": spec, "config": {}}
    if not isinstance(spec, dict) or not spec.get("class_name"):
        raise ValueError("no optimizer in it")
    cls = _builtin(keras.optimizers, spec["class_name"], keras.optimizers.Optimizer)
    if cls is None:
        raise ValueError(f"optimizer {spec['class_name']!r} is not one of Keras' own")
    config = dict(spec.get("config") or {})
    if "lr" in config and "learning_rate" not in config:  # Keras 2.2 and older
        config["learning_rate"] = config.pop("lr")
    rate = config.get("learning_rate")
    if isinstance(rate, dict):  # a schedule: only Keras' own, else its initial rate
        schedule = _builtin(keras.optimizers.schedules, rate.get("class_name", ""),
                            keras.optimizers.schedules.LearningRateSchedule)
        inner = rate.get("config") or {}
        if schedule is not None:
            config["learning_rate"] = schedule(**_accepted(schedule, inner))
        elif isinstance(inner.get("initial_learning_rate"), (int, float)):
            config["learning_rate"] = float(inner["initial_learning_rate"])
        else:
            config.pop("learning_rate")
    return cls(**_accepted(cls, config, drop=("name",)))


#: Keras 2 loss names that Keras 3 spells differently
_LEGACY_LOSSES = {"kullback_leibler_divergence": "kl_divergence", "logcosh": "log_cosh",
                  "huber_loss": "huber"}


def _loss_from_config(spec):
    if isinstance(spec, list) and len(spec) == 1:  # one output
        spec = spec[0]
    if isinstance(spec, dict) and len(spec) == 1 and "class_name" not in spec:
        spec = next(iter(spec.values()))
    if isinstance(spec, dict) and spec.get("class_name") == "function":  # Keras 2.13+
        spec = spec.get("config")
    if isinstance(spec, str):
        key = spec.lower()
        key = _LEGACY_LOSSES.get(key, key)
        for name in (spec, LOSS_ALIASES.get(key), LOSS_ALIASES.get(key.replace("_", "")), key):
            if name:
                try:
                    keras.losses.get(name)
                    return name
                except (ValueError, TypeError):
                    continue
        raise ValueError(f"loss {spec!r} is not one of Keras' own")
    if isinstance(spec, dict) and spec.get("class_name"):
        cls = _builtin(keras.losses, spec["class_name"], keras.losses.Loss)
        if cls is None:
            raise ValueError(f"loss {spec['class_name']!r} is not one of Keras' own")
        return cls(**_accepted(cls, dict(spec.get("config") or {}), drop=("reduction", "name", "dtype")))
    raise ValueError("no loss in it")


def check_model(model, *, source: str | None = None):
    """The model autofix works on: ``model`` itself when it is a Sequential or Functional
    model (several inputs included: see :mod:`autofix.model.packing`), a Functional view of a
    built subclassed model (see :func:`functional_view`), or one :class:`InputError` line
    (not built, an input among several that cannot be packed). A model of several outputs
    is repaired one output at a time (see :mod:`autofix.search.multi_output`)."""
    if not getattr(model, "built", False):
        raise InputError("the model is not built: give it an input shape (keras.Input(shape=...) "
                         "as its first layer, model.build((None, features)), or call it once on "
                         "a batch: model(x[:1]))", path=source)
    if not getattr(model, "inputs", None):
        model = functional_view(model, source=source)
    if len(model.inputs) > 1:
        layout_of(model, source=source)  # one line for an input that cannot be packed
    return model


def functional_view(model, *, source: str | None = None):
    """A built subclassed ``keras.Model`` as a Functional model of one layer, itself: its
    input shape comes from its build config, its compile settings are copied, and its
    weights are its own (nothing is changed on it). Cloning that view rebuilds the subclass
    from its ``get_config``, so the repair can re-initialize and retrain it, put layers
    before it (normalization) and after it (target scaling), and change its training; what
    lies inside its ``call`` cannot be edited layer by layer."""
    shape = (model.get_build_config() or {}).get("input_shape")
    if not shape or not isinstance(shape, (list, tuple)) or isinstance(shape[0], (list, tuple, dict)):
        raise InputError(f"the subclassed model {type(model).__name__} was built on several "
                         "inputs; autofix repairs single-input models", path=source)
    inputs = keras.Input(shape=tuple(shape[1:]), name="inputs")
    try:
        view = keras.Model(inputs, model(inputs), name=model.name)
    except Exception as err:  # noqa: BLE001 - the user's call() decides what can be traced
        raise InputError(f"the subclassed model {type(model).__name__} cannot be called on a "
                         f"symbolic input ({error_text(err)})", path=source) from None
    return compiled_like(view, model)
