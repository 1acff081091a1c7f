"""The user's own code, imported on request: ``--import my_layers.py`` (or a module name),
``custom_objects=`` in Python. A model whose custom layers, losses or activations live in the
user's code loads once that code is imported: classes registered with
``@keras.saving.register_keras_serializable()`` register themselves, and every class and
function the module defines is offered to Keras by name as well (``custom_objects``).

Importing runs the user's code: like ``--unsafe-load``, only for code they trust (their own).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

from autofix.errors import InputError, error_text


def _module(source: str):
    path = Path(source)
    if path.is_dir():
        raise InputError(f"--import {source}: is a folder; give a .py file or a module name "
                         "(my_package.layers)")
    if source.endswith(".py") or path.is_file():
        if not path.is_file():
            raise InputError(f"--import {source}: no such file")
        if path.suffix != ".py":
            raise InputError(f"--import {source}: is not a Python file (.py) or a module name")
        name = f"autofix_user_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        sys.path.insert(0, str(path.resolve().parent))  # its own imports of sibling files
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        finally:
            sys.path.remove(str(path.resolve().parent))
        return module
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # a module beside the user, as `python -m` finds it
    try:
        return importlib.import_module(source)
    except ModuleNotFoundError as err:
        if err.name is not None and source.startswith(err.name):
            raise InputError(f"--import {source}: could not find it (no module named "
                             f"{err.name!r} here or on the Python path)") from None
        raise


def import_user_code(sources) -> dict:
    """Import each of ``sources`` (a ``.py`` file or a module name); return the classes and
    functions they define, by name (Keras' ``custom_objects``). Raises :class:`InputError`,
    one line, when one cannot be imported."""
    found: dict = {}
    for source in sources or ():
        try:
            module = _module(str(source))
        except InputError:
            raise
        except Exception as err:  # noqa: BLE001 - the user's code raised: say what
            raise InputError(f"--import {source}: importing it raised "
                             f"({error_text(err, 160)})") from None
        for name, value in vars(module).items():
            if (inspect.isclass(value) or inspect.isfunction(value)) and \
                    getattr(value, "__module__", None) == module.__name__:
                found[name] = value
    return found
