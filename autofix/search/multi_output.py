"""A model with several outputs, diagnosed and repaired one output at a time.

Each output is a model of its own for the repair: the user's inputs, the layers that lead to
that output (shared with the other outputs), that output's loss, and its own targets. Each
is diagnosed and repaired as a one-output model (:func:`autofix.repair`), and judged on its
own metric. The model handed back keeps every output that needed nothing on the user's own
layers (a copy of them, with their weights), and puts each repaired output's model beside
them, with its own copy of the layers it needs: one output's repair cannot disturb another's. Its outputs keep their names, order
and structure (a dict or a list).

The report names each output: every finding and attempt carries ``output`` (its name),
``outputs`` holds one full report per output, and the top-level ``task``, ``metric``,
``baseline`` and ``fix`` are those of the output that decides the status (the first one
that is unrepairable, else the first one repaired).
"""

from __future__ import annotations

import dataclasses
import re
import time

from autofix._backend import keras
from autofix.diagnosis.findings import Finding
from autofix.errors import InputError
from autofix.inputs.named_arrays import output_arrays, output_names
from autofix.model.surgery import compiled_like
from autofix.reporting.result import RepairResult


def _loss_of(model, index: int, name: str):
    loss = getattr(model, "loss", None)
    if isinstance(loss, dict):
        return loss.get(name)
    if isinstance(loss, (list, tuple)):
        return loss[index] if index < len(loss) else None
    return loss


def output_view(model, index: int):
    """Output ``index`` of ``model`` as a model of its own: the same inputs, the layers that
    lead to that output (the same layer objects), that output's loss and the model's
    optimizer (a fresh copy) when the model is compiled."""
    name = output_names(model)[index]
    view = keras.Model(model.input, model.outputs[index], name=f"{name}_model")
    loss = _loss_of(model, index, name)
    return view if loss is None else compiled_like(view, model, loss=loss)


def _per_output(value, names: list[str], index: int):
    """A setting given per output (a dict by output name) or for all of them."""
    return value.get(names[index], "auto") if isinstance(value, dict) else value


def repair_each(repair_one, model, x, y, *, validation_data=None, budget=None, task="auto",
                **settings) -> RepairResult:
    """Run ``repair_one`` (:func:`autofix.repair` or the diagnosis alone) on each output's
    model and targets; return the combined :class:`RepairResult`. ``budget`` is shared:
    each output gets an equal share of what the outputs before it left; ``task`` may be one
    task for all outputs or a dict by output name."""
    started = time.monotonic()
    names = output_names(model)
    if y is None:
        raise InputError(f"the model has {len(names)} outputs; give x and y as arrays, y as a "
                         "dict of arrays by output name (a dataset of several outputs is not "
                         "read yet)")
    ys = output_arrays(model, y)
    y_vals = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise InputError("validation_data must be a pair (x_val, y_val)")
        y_vals = output_arrays(model, validation_data[1], "y_val")
    results = []
    for i, name in enumerate(names):
        if budget is not None:  # what the outputs before it left, shared with those after
            left = float(budget) - (time.monotonic() - started)
            settings["budget"] = max(left, 1.0) / (len(names) - i)
        view = output_view(model, i)
        given = None if y_vals is None else (validation_data[0], y_vals[i])
        try:
            results.append(repair_one(view, x, ys[i], validation_data=given,
                                      task=_per_output(task, names, i), **settings))
        except InputError as err:  # say which output's targets it was about
            raise InputError(f"output {name!r}: {err}") from None
        if results[-1].interrupted:  # Ctrl-C: the outputs after it are left as they are
            break
    combined = combine(model, names, results, time.monotonic() - started)
    if budget is not None:
        combined.budget = float(budget)
    return combined


def _deciding(results: list[RepairResult]) -> int:
    for status in ("unrepairable", "repaired"):
        for i, result in enumerate(results):
            if result.status == status:
                return i
    unwell = [i for i, r in enumerate(results)
              if r.diagnosis is not None and not getattr(r.diagnosis, "healthy", True)]
    return unwell[0] if unwell else 0


def _tagged(finding: Finding, name: str) -> Finding:
    return Finding(finding.code, finding.severity, f"output {name!r}: {finding.message}",
                   {**finding.evidence, "output": name})


def combined_model(model, names: list[str], fixed: dict):
    """``model`` with each output ``i`` in ``fixed`` served by that repaired model (called on
    the user's inputs, its result named after the output); the other outputs stay on the
    user's layers and weights (a copy: training the model handed back leaves the user's
    alone). Compiled with each output's loss (the repair's where it changed it) and the
    first repaired output's optimizer (the user's when it has none)."""
    original = model
    model = keras.models.clone_model(original)
    model.set_weights(original.get_weights())
    tensors = []
    for i, tensor in enumerate(model.outputs):
        if i in fixed:
            tensor = keras.layers.Identity(name=names[i])(fixed[i](model.input))
        tensors.append(tensor)
    structure = model.output
    if isinstance(structure, dict):
        by_tensor = {id(t): key for key, t in structure.items()}
        outputs = {by_tensor[id(old)]: new for old, new in zip(model.outputs, tensors)}
    else:
        outputs = tensors
    combined = keras.Model(model.input, outputs, name=model.name)
    first = fixed[min(fixed)]
    source = first if getattr(first, "compiled", False) else original
    losses = [getattr(fixed[i], "loss", None) if i in fixed else _loss_of(original, i, names[i])
              for i in range(len(names))]
    if all(loss is not None for loss in losses):
        compiled_like(combined, source, loss=dict(zip(names, losses)), build=True)
    return combined


def _keyed_loss(line: str | None, name: str) -> str | None:
    """A one-output compile line's ``loss=X`` as the model's loss dict: ``loss={"name": X,
    ...}`` (the other outputs' losses as they were)."""
    if not line:
        return line
    return re.sub(r"loss=(.*)\)$", lambda m: f'loss={{"{name}": {m.group(1)}, ...}})', line)


def merged_edits(repaired: list[tuple[str, RepairResult]]) -> list[dict]:
    """The repaired outputs' edits as changes to the user's one script: an edit every
    repaired output needs once, for the whole model (no ``output``); a compile edit as that
    output's entry of the loss dict; one ``fit`` edit, with the most epochs any output
    needs (each output's in its ``change``)."""
    edits, seen, fits = [], {}, []
    for name, result in repaired:
        for edit in (result.fix or {}).get("edits", []):
            if edit["where"] == "fit":
                fits.append((name, edit))
                continue
            if edit["where"] == "compile":
                edit = {**edit, "before": _keyed_loss(edit.get("before"), name),
                        "after": _keyed_loss(edit["after"], name)}
            key = (edit["where"], edit["change"], edit.get("before"), edit["after"],
                   edit.get("setup"))
            if key in seen:  # several outputs need it: it is the whole model's
                seen[key].pop("output", None)
                continue
            seen[key] = {**edit, "output": name}
            edits.append(seen[key])
    if fits:
        def epochs(edit) -> int:
            found = re.search(r"epochs=(\d+)", edit["after"])
            return int(found.group(1)) if found else 0

        name, longest = max(fits, key=lambda pair: epochs(pair[1]))
        edit = dict(longest)
        if len(fits) > 1:
            edit["change"] += "; the longest any output needs (" + ", ".join(
                f"{n!r} {epochs(e)}" for n, e in fits) + ")"
        edits.append(edit)
    return edits


def combine(model, names: list[str], results: list[RepairResult], seconds: float) -> RepairResult:
    """One :class:`RepairResult` for the outputs' results (see the module's docstring)."""
    statuses = [r.status for r in results]
    status = ("unrepairable" if "unrepairable" in statuses else
              "repaired" if "repaired" in statuses else "healthy")
    deciding = results[_deciding(results)]
    fixed = {i: r.model for i, r in enumerate(results) if r.status == "repaired"}
    findings, attempts = [], []
    for name, result in zip(names, results):
        findings += [_tagged(f, name) for f in result.findings]
        attempts += [dataclasses.replace(a, output=name) for a in result.attempts]
    fix = None
    if status == "repaired":
        strategies = []
        for result in results:
            for strategy in (result.fix or {}).get("strategies", []):
                if strategy not in strategies:
                    strategies.append(strategy)
        repaired = [(name, r) for name, r in zip(names, results) if r.status == "repaired"]
        fix = {**deciding.fix, "strategies": strategies, "model_path": None,
               "outputs": [name for name, _ in repaired], "edits": merged_edits(repaired)}
    budgets = [r.budget for r in results if r.budget is not None]
    return RepairResult(
        status=status, model=combined_model(model, names, fixed) if fixed else model,
        findings=findings, attempts=attempts, task=deciding.task, metric=deciding.metric,
        baseline=deciding.baseline, fix=fix, seconds=seconds,
        interrupted=any(r.interrupted for r in results),
        budget=sum(budgets) if budgets else None, diagnosis=deciding.diagnosis,
        details=deciding.details, outputs=dict(zip(names, results)))
