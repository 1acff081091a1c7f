"""The ``autofix`` command line (typer). TensorFlow is imported only inside commands."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from autofix import interrupts
from autofix.errors import InputError
from autofix.interrupts import deferred_interrupts
from autofix.options import check_budget, check_count, check_task
from autofix.reporting.progress import Progress

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Diagnose and repair Keras models that fail to learn; prove the repair by retraining.",
)

ModelArg = Annotated[Path, typer.Argument(help="Keras model (.keras or legacy .h5)", show_default=False)]
DataArg = Annotated[Path, typer.Argument(help=".npz with x and y (optional x_val, y_val), a CSV/Parquet table with --target, or a folder of images (FOLDER/CLASS/*.png)", show_default=False)]
TargetOpt = Annotated[Optional[str], typer.Option("--target", help="for a CSV/Parquet table: the column to predict")]
ImportOpt = Annotated[Optional[list[str]], typer.Option("--import", help="your code that defines the model's custom layers, losses or activations: a .py file or a module name (it runs that code; repeat for several)")]
FeaturesOpt = Annotated[Optional[str], typer.Option("--features", help="for a table: comma-separated feature columns [default: every other numeric column]")]
TaskOpt = Annotated[str, typer.Option(help="auto|regression|binary|multiclass|multilabel")]
EpochsOpt = Annotated[int, typer.Option(help="the original training length")]
BatchOpt = Annotated[int, typer.Option("--batch-size", help="the original batch size")]
SeedOpt = Annotated[int, typer.Option(help="random seed: same seed, same report")]
UnsafeOpt = Annotated[bool, typer.Option("--unsafe-load", help="allow Lambda layers (runs code stored in the file); custom classes still need their code")]


def _fail(message: str, code: int = 2):
    typer.echo(f"autofix: {'error: ' if code == 2 else ''}{message}", err=True)
    raise typer.Exit(code)


def _check_options(task: str, epochs: int, batch_size: int, budget: float | None = None) -> None:
    """The options, checked before anything loads (the API checks them with the same
    functions, in its own words)."""
    check_task(task, "--task")
    check_count(epochs, "--epochs")
    check_count(batch_size, "--batch-size")
    check_budget(budget, "--budget")


@contextmanager
def _about(data: Path):
    """Input errors past loading concern the data (its fit to the model, its labels): name
    the data file in them."""
    try:
        yield
    except InputError as err:
        if err.path is not None:
            raise
        raise InputError(str(err), path=str(data)) from None


def _load(model_path: Path, data_path: Path, unsafe: bool, target: str | None = None,
          features: str | None = None, imports=None):
    from autofix.inputs.data import load_data
    from autofix.model.loading import load_model

    _check_not_swapped(model_path, data_path)
    images = data_path.is_dir()
    if images and (target is not None or features is not None):
        raise InputError("is a folder of images: --target and --features are for tables",
                         path=str(data_path))
    data = None if images else load_data(data_path, target=target, features=features)
    notes: list[str] = []
    from autofix.inputs.user_code import import_user_code

    model = load_model(model_path, unsafe=unsafe, notes=notes,
                       custom_objects=import_user_code(imports) or None)
    if (images or data.features is not None) and len(model.inputs) > 1:
        names = ", ".join(repr(t.name) for t in model.inputs)
        raise InputError(f"is {'a folder of images' if images else 'a table'}, which feeds one "
                         f"input, but the model has {len(model.inputs)} ({names}); save one "
                         "array per input, named after it, in an .npz", path=str(data_path))
    if images:
        from autofix.inputs.data import Dataset, validate_xy
        from autofix.inputs.datasets import image_folder

        x, y, read = image_folder(data_path, tuple(model.inputs[0].shape[1:]))
        data = Dataset(*validate_xy(x, y, source=str(data_path)), notes=read)
    if data.features is not None:
        _check_table_fits(model, data, data_path)
    if isinstance(data.x, dict) or isinstance(data.y, dict):  # named after inputs/outputs
        _check_named_arrays(model, data, data_path)
    for note in notes + data.notes:
        typer.echo(f"autofix: note: {' '.join(note.split())}", err=True)
    return model, data


def _check_named_arrays(model, data, data_path: Path) -> None:
    """An archive's arrays named after the model's inputs or outputs, checked before any
    note is printed (bad input is one line naming the file)."""
    from autofix.inputs.named_arrays import output_arrays, unread_targets
    from autofix.model.packing import layout_of, one_array

    layout = layout_of(model) if len(model.inputs) > 1 else None
    unread = []  # arrays named after no input or output: left out, and said so once
    for arrays, what in ((data.x, "x"), (data.x_val, "x_val")):
        if layout is not None and isinstance(arrays, dict):
            for key in layout.unread(arrays, what):
                unread.append(key if what == "x" else f"x_val_{key}")
                del arrays[key]
    for arrays, what in ((data.y, "y"), (data.y_val, "y_val")):
        if len(model.outputs) > 1 and isinstance(arrays, dict):
            for key in unread_targets(model, arrays, what):
                unread.append(f"{what}_{key}")
                del arrays[key]
    try:
        one_array(data.x, model, layout)
        if data.x_val is not None:
            one_array(data.x_val, model, layout, "x_val")
        if len(model.outputs) > 1:
            output_arrays(model, data.y)
            if data.y_val is not None:
                output_arrays(model, data.y_val, "y_val")
        elif isinstance(data.y, dict):
            raise InputError(f"holds y_<name> arrays ({', '.join(map(repr, data.y))}) but the "
                             "model has one output: save its targets as y")
    except InputError as err:
        raise InputError(str(err), path=str(data_path)) from None
    if unread:
        data.notes.append(f"left out arrays the model does not read: {', '.join(unread)}")


def _check_table_fits(model, data, data_path: Path) -> None:
    """A table's features against the model's input width, named by column (before any
    note is printed: bad input is one line)."""
    wanted = tuple(model.inputs[0].shape[1:])  # one input: _load checked it
    if len(wanted) == 1 and wanted[0] is not None and wanted[0] != len(data.features):
        from autofix.inputs.tables import listed

        raise InputError(f"the model takes {wanted[0]} feature(s) but the table gives "
                         f"{len(data.features)} ({listed(data.features)}); name the model's "
                         "with --features", path=str(data_path))


DATA_SUFFIXES = (".npz", ".npy", ".csv", ".tsv", ".txt", ".json", ".pkl", ".pickle", ".parquet")
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


def _check_not_swapped(model_path: Path, data_path: Path) -> None:
    """Refuse DATA given first and MODEL second, before loading either."""
    if not (model_path.is_file() and data_path.is_file()):
        return  # loading names the missing one
    from autofix.inputs.file_kinds import DATA_KINDS, KIND_WORDS, MODEL_KINDS, file_kind

    first, second = file_kind(model_path), file_kind(data_path)
    looks_like_data = first in DATA_KINDS or (
        model_path.suffix.lower() in DATA_SUFFIXES and first not in MODEL_KINDS)
    looks_like_model = second in MODEL_KINDS or (
        data_path.suffix.lower() in MODEL_SUFFIXES and second not in DATA_KINDS)
    if looks_like_data and looks_like_model:
        what = KIND_WORDS.get(first, "a data file")
        raise InputError(f"did you swap MODEL and DATA? it is {what} and {data_path} a model; "
                         "give the model first, then the data", path=str(model_path))


def _check_output(path: Path, inputs: list[Path], what: str) -> None:
    resolved = path.resolve()
    for given in inputs:
        if given.exists() and resolved == given.resolve():
            raise InputError(f"{what} {path} is the input file; autofix never overwrites its inputs")
    parent = resolved.parent
    if not parent.exists():
        raise InputError(f"{what} folder {parent} does not exist")
    if not parent.is_dir():
        raise InputError(f"{what} folder {parent} is not a folder")
    if resolved.is_dir():
        raise InputError(f"{what} {path} is a folder")
    try:  # the real test of writability (os.access says yes to root on a read-only mount)
        fd, probe = tempfile.mkstemp(prefix=".autofix-probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise InputError(f"{what} folder {parent} is not writable ({err.strerror or err})") from None


@app.command()
def diagnose(
    model: ModelArg,
    data: DataArg,
    as_json: Annotated[bool, typer.Option("--json", help="print the report JSON only")] = False,
    task: TaskOpt = "auto",
    epochs: EpochsOpt = 50,
    batch_size: BatchOpt = 32,
    seed: SeedOpt = 0,
    unsafe_load: UnsafeOpt = False,
    target: TargetOpt = None,
    features: FeaturesOpt = None,
    imports: ImportOpt = None,
):
    """Say what is wrong with MODEL trained on DATA, without changing anything."""
    with deferred_interrupts():
        try:
            _check_options(task, epochs, batch_size)
            keras_model, dataset = _load(model, data, unsafe_load, target, features, imports)
            interrupts.check()
            from autofix.api import diagnosis_result

            with _about(data):
                result = diagnosis_result(keras_model, dataset.x, dataset.y,
                                          validation_data=dataset.validation_data, task=task,
                                          seed=seed, epochs=epochs, batch_size=batch_size)
        except InputError as err:
            _fail(str(err))
        except KeyboardInterrupt:
            _fail("interrupted", 130)
    from autofix.reporting.result import diagnosis_report

    report = diagnosis_report(result)
    if as_json:
        from autofix.reporting.result import report_json

        typer.echo(report_json(report))
    else:
        from autofix.reporting.terminal import print_diagnosis

        print_diagnosis(report)
    raise typer.Exit(0 if report["status"] == "healthy" else 1)


@app.command()
def repair(
    model: ModelArg,
    data: DataArg,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="where to write the fixed model [default: MODEL.fixed.keras]")] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="write the JSON report here")] = None,
    budget: Annotated[Optional[float], typer.Option(help="stop searching after this many seconds")] = None,
    seed: SeedOpt = 0,
    task: TaskOpt = "auto",
    strategies: Annotated[Optional[str], typer.Option(help="comma-separated strategy names to allow")] = None,
    epochs: EpochsOpt = 50,
    batch_size: BatchOpt = 32,
    unsafe_load: UnsafeOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print only the verdict line")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print only the report JSON on stdout")] = False,
    html: Annotated[Optional[Path], typer.Option("--html", help="write a self-contained HTML report here")] = None,
    workdir: Annotated[Optional[Path], typer.Option(help="shared folder for distributed runs (KERASTUNER_* variables)")] = None,
    target: TargetOpt = None,
    features: FeaturesOpt = None,
    imports: ImportOpt = None,
):
    """Repair MODEL on DATA: diagnose, retrain candidate fixes, keep the best proven one."""
    from autofix.reporting.terminal import print_report, verdict_line

    with deferred_interrupts():
        try:
            _check_options(task, epochs, batch_size, budget)
            output = output or model.with_name(f"{model.stem}.fixed.keras")
            if output.suffix.lower() not in (".keras",):
                raise InputError(f"output {output} must end in .keras")
            _check_output(output, [model, data], "output")
            if report is not None:
                _check_output(report, [model, data, output], "report")
            if html is not None:
                _check_output(html, [model, data, output], "HTML report")
            if strategies is not None:
                from autofix.strategies import usable

                usable(strategies)
            from autofix.search.distributed import checked_role

            role = checked_role(workdir)
            if workdir is not None:
                workdir.mkdir(parents=True, exist_ok=True)
            keras_model, dataset = _load(model, data, unsafe_load, target, features, imports)
            interrupts.check()
            from autofix.api import repair as run_repair
            from autofix.api import work

            if role == "worker":
                with _about(data):
                    count = work(keras_model, dataset.x, dataset.y, workdir=workdir,
                                 validation_data=dataset.validation_data, seed=seed, task=task,
                                 strategies=strategies, epochs=epochs, batch_size=batch_size,
                                 unsafe=unsafe_load)
                typer.echo(f"worker {os.environ.get('KERASTUNER_TUNER_ID')}: trained {count} candidate(s)")
                raise typer.Exit(0)

            console = Console(stderr=True)
            progress = Progress(console, enabled=not quiet and not as_json)
            with _about(data):
                result = run_repair(keras_model, dataset.x, dataset.y,
                                    validation_data=dataset.validation_data,
                                    budget=budget, seed=seed, task=task, strategies=strategies,
                                    epochs=epochs, batch_size=batch_size, unsafe=unsafe_load,
                                    progress=progress, workdir=workdir)
        except InputError as err:
            _fail(str(err))
        except KeyboardInterrupt:  # before the repair began, or a second Ctrl-C
            _fail("interrupted", 130)
        # a signal that lands from here on is honoured once the outputs are written
        # (each write is atomic), so that the files always match the exit code
        from autofix.reporting.result import report_json
        from autofix.reporting.writing import write_text_atomic

        result.interrupted = result.interrupted or interrupts.requested()
        if result.status == "repaired":  # only a proven model is ever written
            result.save(output)
        payload = result.report()
        if report is not None:
            write_text_atomic(report_json(payload), report)
        if html is not None:
            from autofix.reporting.html import render

            write_text_atomic(render(result), html)
    if as_json:
        typer.echo(report_json(payload))
    elif quiet:
        typer.echo(verdict_line(payload))
    else:
        print_report(payload, Console())
        if result.status == "repaired":
            typer.echo(f"fixed model: {output}")
    raise typer.Exit(130 if interrupts.requested() else result.exit_code)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                               "allow_interspersed_args": False})
def run(
    ctx: typer.Context,
    script: Annotated[Path, typer.Argument(help="your training script (its own arguments follow it)", show_default=False)],
    repair_fits: Annotated[bool, typer.Option("--repair/--watch-only", help="repair a fit that needs it, or only report what is wrong")] = True,
    out: Annotated[Optional[Path], typer.Option("--out", help="folder for the fixed models and reports [default: beside the script]")] = None,
    budget: Annotated[Optional[float], typer.Option(help="seconds each repair may search")] = None,
    seed: SeedOpt = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print only one line per fit")] = False,
):
    """Run SCRIPT as `python SCRIPT ARGS...` would, checking each model.fit it makes.

    A fit whose model failed to learn is repaired on that fit's data, epochs and batch size
    (--watch-only: diagnosed); the fixed model and the report are written beside the script
    as SCRIPT.fitN.fixed.keras and SCRIPT.fitN.report.json. The script is not changed.
    Exit code: the script's own when it exits with one, else 0 every checked fit is healthy
    or repaired, 1 one is not (or the script raised), 2 bad input, 130 interrupted."""
    import runpy

    try:
        check_budget(budget, "--budget")
    except InputError as err:
        _fail(str(err))
    if not script.is_file():
        _fail(f"{script}: {'is a directory' if script.is_dir() else 'no such file'}, "
              "expected a Python training script")
    folder = out if out is not None else script.resolve().parent
    if folder.exists() and not folder.is_dir():
        _fail(f"--out {folder} is not a folder")
    from autofix.watching import watch

    _FAST_EXIT["allowed"] = False  # the script's own files and atexit handlers need the teardown
    console = Console(stderr=True)
    progress = Progress(console, enabled=not quiet)

    def heard(fit):
        console.print(f"autofix: {fit.line()}", highlight=False, soft_wrap=True)
        if fit.report and not quiet:
            from autofix.reporting.terminal import print_edits

            print_edits(fit.report, console, "the same repair in your script (x_train, y_train: "
                        "the arrays this fit trained on):")

    failed = interrupted = False
    own_code = None
    path = script.resolve()
    saved_argv, saved_path = list(sys.argv), list(sys.path)
    sys.argv = [str(script), *ctx.args]
    sys.path.insert(0, str(path.parent))
    try:
        with interrupts.python_signals(), watch(repair=repair_fits, output_dir=folder,
                                                prefix=script.stem, budget=budget, seed=seed,
                                                progress=progress, on_fit=heard) as watcher:
            try:
                runpy.run_path(str(path), run_name="__main__")
            except SystemExit as done:
                if done.code not in (None, 0):
                    own_code = done.code if isinstance(done.code, int) else 1
                    if not isinstance(done.code, int):
                        typer.echo(str(done.code), err=True)
            except KeyboardInterrupt:
                interrupted = True
            except Exception as err:  # noqa: BLE001 - the script's own error, shown as Python would
                _print_from(err, path)
                failed = True
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    checked = [fit for fit in watcher.fits if fit.status != "skipped"]
    if not watcher.fits:
        typer.echo(f"autofix: {script} made no model.fit call; nothing to check", err=True)
    elif not quiet:
        counts = {status: sum(fit.status == status for fit in checked)
                  for status in ("healthy", "repaired")}
        typer.echo(f"autofix: {len(watcher.fits)} fit(s) seen, {len(checked)} checked: "
                   f"{counts['healthy']} healthy, {counts['repaired']} repaired, "
                   f"{len(checked) - sum(counts.values())} not", err=True)
    if interrupted:
        _fail("interrupted", 130)
    if own_code is not None:
        raise typer.Exit(own_code)
    bad = [fit for fit in checked if fit.status not in ("healthy", "repaired")]
    raise typer.Exit(1 if failed or bad else 0)


def _print_from(err: BaseException, script: Path) -> None:
    """The traceback of the script's own error as ``python script.py`` shows it: from the
    script's first frame (autofix's and runpy's frames above it left out)."""
    import traceback

    tb = err.__traceback__
    while tb is not None and Path(tb.tb_frame.f_code.co_filename) != script:
        tb = tb.tb_next
    traceback.print_exception(type(err), err, tb or err.__traceback__)


@app.command("strategies")
def list_strategies():
    """List every registered repair strategy, one line each."""
    from autofix.strategies import registry

    for name, strategy in registry().items():
        typer.echo(f"{name:<26} {strategy.summary}  [answers: {', '.join(sorted(strategy.answers))}]")


@app.command()
def bench(
    scenarios: Annotated[Optional[list[str]], typer.Argument(help="scenario names [default: all]")] = None,
    out: Annotated[Optional[Path], typer.Option(help="write bench.json and bench.md here")] = None,
    seed: SeedOpt = 0,
):
    """Break models the documented ways, repair them, and tabulate the outcome."""
    from rich.table import Table

    from autofix.bench import runs as bench_mod
    from autofix.bench.scenarios import check_names

    try:
        names = check_names(scenarios)
    except InputError as err:
        _fail(str(err))
    console = Console(width=None if sys.stdout.isatty() else 200)
    progress = Console(stderr=True)
    rows = bench_mod.run(names, seed=seed, on_row=lambda r: progress.print(
        f"{r['scenario']}: {r['status']} in {r['seconds']:.1f}s", highlight=False))
    table = Table(title="autofix bench")
    for col in bench_mod.COLUMNS:
        table.add_column(col)
    for cells in bench_mod.table_rows(rows):
        table.add_row(*cells)
    console.print(table)
    if out is not None:
        bench_mod.write(rows, out, "autofix bench" + (" " + " ".join(scenarios) if scenarios else ""))
    raise typer.Exit(0 if all(r["passed"] for r in rows) else 1)


@app.command()
def demo(
    scenario: Annotated[str, typer.Option(help="which broken model to build")] = "unnormalized_inputs",
    keep: Annotated[Optional[Path], typer.Option(help="write the demo files here instead of a temporary folder")] = None,
):
    """Build a broken model and its data in a temporary folder, then repair it."""
    import numpy as np

    from autofix.bench.scenarios import SCENARIOS, check_names, make_case

    try:
        check_names([scenario])
    except InputError as err:
        _fail(str(err))
    with tempfile.TemporaryDirectory(prefix="autofix-demo-") as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        typer.echo(f"building the '{scenario}' scenario: {SCENARIOS[scenario].summary}")
        case = make_case(scenario)
        model_path, data_path = folder / "model.keras", folder / "data.npz"
        case.model.save(model_path)
        np.savez(data_path, x=case.x, y=case.y)
        typer.echo(f"$ autofix repair {model_path} {data_path} --epochs {case.epochs} "
                   f"--batch-size {case.batch_size}")
        try:
            repair(model_path, data_path, output=None, report=folder / "report.json", budget=None,
                   seed=0, task="auto", strategies=None, epochs=case.epochs,
                   batch_size=case.batch_size, unsafe_load=False, quiet=False, as_json=False,
                   html=folder / "report.html")
        except typer.Exit as done:
            code = done.exit_code
        else:  # pragma: no cover
            code = 0
        if keep is None:
            typer.echo("(the demo folder was temporary and is removed; pass --keep DIR to keep "
                       "the broken model, the data, the fixed model and the report)")
    raise typer.Exit(code)


def main() -> None:  # pragma: no cover - console entry point (see autofix/__main__.py)
    """Console entry point. Commands map Ctrl-C to exit code 130 themselves; this catches
    a second, insistent one that lands outside them."""
    try:
        app()
        code = 0
    except KeyboardInterrupt:
        print("autofix: interrupted", file=sys.stderr)
        code = 130
    except SystemExit as done:
        code = done.code
    _leave(code)


#: whether the process may end without Python's teardown (not after a user's own script ran
#: in it: its unclosed files and ``atexit`` handlers need the teardown)
_FAST_EXIT = {"allowed": True}


def _leave(code) -> None:
    """End the process with ``code``, without Python's teardown once TensorFlow is loaded.

    Every output is written and closed by then (atomic writes, temporary folders removed by
    their ``with`` blocks). The teardown of TensorFlow's modules took 0.9 s of a 6.9 s
    ``autofix repair`` here, and a signal that landed during it killed the process by the
    signal's default action (exit -2, not 130): the handlers are gone by then."""
    if isinstance(code, str):  # sys.exit("message")
        print(code, file=sys.stderr)
        code = 1
    code = 0 if code is None else int(code)
    if "tensorflow" not in sys.modules or not _FAST_EXIT["allowed"]:
        sys.exit(code)
    import logging

    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover - python -m autofix.cli
    main()
