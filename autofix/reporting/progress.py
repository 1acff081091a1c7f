"""Live progress for a repair: plain lines off a terminal, an epoch bar on one, and the
same in a Jupyter notebook."""

from __future__ import annotations

from rich.console import Console


class Progress:
    """Live progress on stderr: the diagnosis, then one line per candidate.

    On a terminal the running candidate shows an epoch bar (rich, transient); off a
    terminal (CI, pipes) only plain lines are printed.
    """

    def __init__(self, console: Console, enabled: bool):
        self.console, self.enabled = console, enabled
        self.live = enabled and console.is_terminal
        self._bar = self._task = None

    def _stop_bar(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = self._task = None

    def __call__(self, event: str, payload) -> None:
        if not self.enabled:
            return
        if event == "diagnosis_start" and self.live:
            self.console.print("diagnosing (data, model, and a rerun of your training) ...")
        elif event == "diagnosis":
            codes = ", ".join(f.code for f in payload.findings if f.severity == "error") or "none"
            self.console.print(f"diagnosed in {payload.seconds:.1f}s; errors: {codes}", highlight=False)
        elif event == "budget":
            if payload.seconds:
                given = "--budget" if payload.given else "default: 10x your training's cost, 30 s..3 min"
                line = f"searching within a budget of {payload.seconds:g} s ({given})"
            else:
                line = ("searching; the budget (default: 10x your training's cost, 30 s..3 min) is "
                        "set from the first candidate's epochs")
            self.console.print(line, highlight=False)
        elif event == "distributed":
            self.console.print(payload, highlight=False)
        elif event == "attempt_start":
            self.console.print(f"trying {payload.label()} ...", highlight=False)
            if self.live:
                from rich.progress import BarColumn, TextColumn
                from rich.progress import Progress as Bar

                self._bar = Bar(TextColumn("  epoch {task.completed}/{task.total}"), BarColumn(),
                                TextColumn("loss {task.fields[loss]}"), console=self.console,
                                transient=True)
                self._task = self._bar.add_task("train", total=None, loss="-")
                self._bar.start()
        elif event == "epoch" and self._bar is not None:
            epoch, total, loss = payload
            self._bar.update(self._task, completed=epoch, total=total,
                             loss="-" if loss is None else f"{loss:.4g}")
        elif event == "attempt":
            self._stop_bar()
            metric = "-" if payload.metric is None else f"{payload.metric:.3f}"
            recovery = getattr(payload, "recovery", None)
            if recovery is not None:
                metric += f", {recovery:.0%} of the reference"
            style = {"healthy": "green", "degenerate": "yellow", "failed": "red"}[payload.outcome]
            self.console.print(f"  -> [{style}]{payload.outcome}[/] ({metric}, {payload.seconds:.1f}s) "
                               f"{payload.reason}", highlight=False)


def default_progress(progress):
    """The listener ``repair(progress=...)`` uses: ``True`` = a console on stderr; ``None`` =
    one only inside a Jupyter notebook; a callable is used as it is."""
    if callable(progress):
        return progress
    if progress is True or (progress is None and _in_notebook()):
        return Progress(Console(stderr=progress is True), enabled=True)
    return None


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})
