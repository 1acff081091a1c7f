"""One self-contained HTML file for a repair: findings with evidence, loss curves,
predictions before and after (per-class counts and confusion matrices for classifiers,
histograms for regression), and the attempts (images embedded as PNG)."""

from __future__ import annotations

import base64
import io
import json
import re
from dataclasses import dataclass, field
from html import escape

import numpy as np

from autofix.errors import brief
from autofix.inputs.task import Task, class_ids, infer_task
from autofix.judge import predicted_labels
from autofix.reporting.script_edits import as_text
from autofix.reporting.terminal import finite, number, verdict_line

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.verdict{padding:.8em 1em;border-radius:6px;font-weight:600}
.repaired,.healthy{background:#e6f4ea;color:#135e2c} .unrepairable{background:#fde8e8;color:#8a1c1c}
table{border-collapse:collapse;width:100%;font-size:.92em} td,th{border:1px solid #ddd;padding:.35em .5em;vertical-align:top;text-align:left}
.error{color:#b3261e;font-weight:600} .warning{color:#8a6100;font-weight:600} .info{color:#0b57d0}
.figs{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start}
figure{margin:0;max-width:530px;flex:1 1 440px} figure img{width:100%;border:1px solid #eee}
figure.wide{max-width:100%;flex-basis:100%} figure.wide img{width:auto;max-width:100%}
.figs>.note{flex-basis:100%}
figcaption,.note{font-size:.85em;color:#444;margin-top:.3em}
pre{white-space:pre-wrap;font-size:.85em;margin:0}
"""

COLORS = {"labels": "#8c8c8c", "before": "#d93025", "after": "#188038", "kept": "#1a73e8"}
SERIES_NAMES = {"labels": "labels (y_val)", "before": "before (given model)",
                "after": "after (repaired model)", "kept": "given model (kept)"}


# ----------------------------------------------------------------------------- numbers

def _int(value) -> str:
    whole = finite(value)
    return "-" if whole is None else str(int(whole))


def _count(n: int, noun: str) -> str:
    """'1 before value is', '3 before values are'."""
    return f"{n} {noun} is" if n == 1 else f"{n} {noun}s are"


def _text(value) -> str:
    return escape("" if value is None else str(value))


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(size=(5.6, 3.4), panels: int | None = None):
    """A figure and its axes (``panels``: a row of that many, as an array)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if panels is None:
        return plt.subplots(figsize=size)
    fig, axes = plt.subplots(1, panels, figsize=size, squeeze=False)
    return fig, axes[0]


# ----------------------------------------------------------------------------- loss curves

@dataclass
class Curve:
    """One run's training loss, divided by its own first finite value."""

    label: str
    relative: list  # floats, NaN where the epoch's loss was not finite
    first: float | None  # the first finite loss (the divisor), None if there is none
    loss: str = ""  # the loss function's name, when known
    note: str = ""  # why it is not drawn, or what happened to it

    @property
    def drawn(self) -> bool:
        return self.first is not None and self.first > 0


def relative_curve(label: str, losses, loss: str = "") -> Curve:
    """``losses`` (floats, with None or NaN for non-finite epochs) relative to the first
    finite one. A curve whose first finite loss is not positive is not drawn (a ratio to
    zero or a negative start means nothing)."""
    values = [finite(v) for v in (losses or [])]
    first = next((v for v in values if v is not None), None)
    curve = Curve(label, [], first, loss or "")
    if first is None:
        curve.note = "no finite loss" if values else "no epochs"
        return curve
    if first <= 0:
        curve.note = f"not drawn: its first loss is {first:.3g}, not positive"
        return curve
    curve.relative = [np.nan if v is None else v / first for v in values]
    bad = [i for i, v in enumerate(values, 1) if v is None]
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        curve.note = f"loss not finite at epoch {bad[0]}{more} (gaps in the curve)"
    return curve


def loss_curves(original, attempts: list, original_loss: str = "") -> list[Curve]:
    """The curves the loss chart draws: the original setup (if it has one), then each attempt."""
    curves = []
    if original:
        curves.append(relative_curve("original setup", original, original_loss))
    for i, a in enumerate(attempts, 1):
        if a.get("losses"):
            label = f"#{i} {' + '.join(a.get('strategies') or []) or '(no change)'}"
            curves.append(relative_curve(label, a["losses"], (a.get("params") or {}).get("loss") or ""))
    return curves


def _loss_figure(curves: list[Curve]) -> str:
    fig, ax = _figure((5.6, 3.6))
    positive = []
    for curve in curves:
        if not curve.drawn:
            continue
        epochs = np.arange(1, len(curve.relative) + 1)
        y = np.asarray(curve.relative, dtype=float)
        style = dict(lw=2, color="k", ls="--") if curve.label == "original setup" else dict(lw=1.5)
        few = np.isfinite(y).sum() <= 3
        start = f"epoch 1: {curve.first:.3g}" + (f" {curve.loss}" if curve.loss else "")
        ax.plot(epochs, y, marker="o" if few else None, ms=4,
                label=f"{curve.label[:40]} ({start})", **style)
        positive += [v for v in y if np.isfinite(v)]
    ax.axhline(1.0, color="#999", lw=0.8, ls=":")
    if positive and min(positive) > 0 and max(positive) / min(positive) > 100:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss / its first finite value")
    ax.set_title("Training loss, each run relative to its own start")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if positive:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
    return _png(fig)


def _why_no_original(result, extra: dict) -> str:
    """Why the original setup has no loss curve, in words."""
    error = extra.get("original_error")
    if error:
        return f"its training failed: {brief(error, 400)}"
    diagnosis = getattr(result, "diagnosis", None)
    log = getattr(diagnosis, "rerun_log", None)
    stopped, detail = getattr(log, "stopped", "completed"), getattr(log, "detail", "")
    if log is not None and stopped == "error":
        return f"its training failed: {detail or 'an error'}"
    if log is not None and stopped != "completed":
        return f"its retraining stopped before a finite epoch was recorded: {detail or stopped}"
    if diagnosis is not None and not getattr(diagnosis, "reran", True):
        return ("it was not retrained, because the quick checks already explained the failure "
                "(repair(..., thorough=True) retrains it)")
    return "its retraining recorded no epoch"


def _early_stop(result, extra: dict, epochs: int) -> str:
    """How the original setup's retraining ended, when it has a curve but did not complete."""
    if not epochs:
        return ""
    when = f"after {epochs} epoch{'s' if epochs > 1 else ''}"
    if extra.get("original_error"):
        return f"{when}: {brief(extra['original_error'], 400)}"
    log = getattr(getattr(result, "diagnosis", None), "rerun_log", None)
    stopped = getattr(log, "stopped", "completed")
    if log is None or stopped == "completed":
        return ""
    detail = re.sub(r"^stopped at epoch \d+:\s*", "", getattr(log, "detail", "") or stopped)
    return f"{when}: {detail}"


def _loss_caption(curves: list[Curve], original_missing: str | None, stopped: str) -> str:
    drawn = [c for c in curves if c.drawn]
    parts = []
    if len(drawn) == 1:
        parts.append(
            "The curve is the run's training loss divided by its first finite value (1 = where "
            "it started; lower = it reduced its loss more), on the same axis the report uses "
            "when runs with different losses or target scales are compared; the legend gives "
            "its epoch-1 loss in its own units.")
    elif drawn:
        parts.append(
            "Each curve is one run's training loss divided by its own first finite value "
            "(1 = where it started; lower = it reduced its loss more). The runs' raw losses are "
            "not comparable: they may use different loss functions or rescaled targets; the "
            "legend gives each run's epoch-1 loss in its own units.")
    if original_missing:
        parts.append(f"No curve for the original setup: {original_missing}.")
    elif stopped:
        parts.append(f"The original setup's retraining ended early, {stopped}.")
    for c in curves:
        if c.note:
            parts.append(f"{c.label}: {c.note}.")
    return " ".join(escape(p) for p in parts)


# ----------------------------------------------------------------------------- classes

@dataclass
class ClassCounts:
    """What the classification charts draw.

    ``names``: one tick label per class (class id, one-hot column or label column).
    ``labels``: validation rows per class (multilabel: rows with that label on).
    ``predicted``: the same for each prediction series (``before``, ``after``).
    ``confusion``: single-label tasks, per series: rows = true class, columns = predicted.
    ``nonfinite``: per series, rows whose prediction is NaN or inf (not counted).
    ``skipped``: series that could not be counted, and why.
    """

    kind: str
    names: list
    labels: np.ndarray
    predicted: dict = field(default_factory=dict)
    confusion: dict = field(default_factory=dict)
    nonfinite: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)


def _class_task(kind: str, y_val: np.ndarray, predictions: list):
    """The :class:`~autofix.inputs.task.Task` behind ``y_val`` for ``kind``, with the class ids
    completed from the predictions' width (``y_val`` alone may miss a class)."""
    task = infer_task(y_val, kind)
    if task.label_format != "ids":
        return task
    classes = list(task.classes)
    width = max((p.shape[1] for p in predictions), default=1)
    integral = all(float(c).is_integer() and c >= 0 for c in classes)
    if task.kind == "binary" and len(classes) < 2 and set(classes) <= {0, 1}:
        classes = [0, 1]
    elif width > 1 and integral and all(c < width for c in classes):
        classes = list(range(width))  # K softmax columns: classes 0..K-1
    return Task(task.kind, "ids", len(classes), tuple(classes))


def _class_name(value) -> str:
    whole = finite(value)
    if whole is not None and whole.is_integer():
        return str(int(whole))
    return str(value)


def class_counts(kind: str, y_val, predictions: dict) -> ClassCounts:
    """Per-class counts of the labels and of each series of predictions (``{name: array or
    None}``), the predicted class taken as the library judges it
    (:func:`autofix.judge.predicted_labels`, labels by :func:`autofix.inputs.task.class_ids`)."""
    y = np.asarray(y_val)
    n = len(y)
    preds = {}
    skipped = {}
    for name, p in predictions.items():
        if p is None:
            continue
        p = np.asarray(p, dtype="float64")
        if p.size == 0 or len(p) != n:
            skipped[name] = f"{len(p)} predictions for {n} labels"
            continue
        preds[name] = p.reshape(n, -1)
    task = _class_task(kind, y, list(preds.values()))
    truth = class_ids(task, y)
    if task.kind == "multilabel":
        truth = truth.reshape(n, -1)
        k = truth.shape[1]
        out = ClassCounts(task.kind, [str(j) for j in range(k)], truth.sum(axis=0), skipped=skipped)
        for name, p in preds.items():
            if p.shape[1] != k:
                out.skipped[name] = f"{p.shape[1]} output columns for {k} labels"
                continue
            rows = np.all(np.isfinite(p), axis=1)
            out.nonfinite[name] = int((~rows).sum())
            out.predicted[name] = (predicted_labels(task, p[rows]).sum(axis=0) if rows.any()
                                   else np.zeros(k, dtype=int))
        return out
    guesses = {}
    for name, p in preds.items():
        rows = np.all(np.isfinite(p), axis=1)
        guess = predicted_labels(task, p[rows]) if rows.any() else np.zeros(0)
        guesses[name] = (rows, np.asarray(guess, dtype=int))
    k = max([task.n_classes, int(truth.max()) + 1 if n else 1]
            + [int(g.max()) + 1 for _, g in guesses.values() if len(g)])
    # class ids are unit numbers (labels 1..3: bar 0 stays empty); other labels by rank
    names = ([_class_name(c) for c in task.classes] if task.label_format == "ids"
             and not task.unit_ids else [str(j) for j in range(task.n_classes)])
    names += [str(j) for j in range(len(names), k)]
    out = ClassCounts(task.kind, names[:k], np.bincount(truth, minlength=k), skipped=skipped)
    for name, (rows, guess) in guesses.items():
        out.nonfinite[name] = int((~rows).sum())
        out.predicted[name] = np.bincount(guess, minlength=k)
        matrix = np.zeros((k, k), dtype=int)
        np.add.at(matrix, (truth[rows], guess), 1)
        out.confusion[name] = matrix
    return out


def bar_offsets(n: int, width: float = 0.8) -> np.ndarray:
    """Offsets of ``n`` bars of width ``width / n`` around their class's tick, centred on it."""
    step = width / max(n, 1)
    return (np.arange(n) - (n - 1) / 2) * step


def _series_label(name: str, counts: ClassCounts) -> str:
    label = SERIES_NAMES.get(name, name)
    bad = counts.nonfinite.get(name, 0)
    return f"{label}, {bad} NaN/inf rows not counted" if bad else label


def _class_figure(counts: ClassCounts) -> str:
    series = [("labels", counts.labels)] + list(counts.predicted.items())
    k = len(counts.names)
    bars = k * len(series)
    fig, ax = _figure((5.6 if bars <= 36 else min(5.6 + 0.1 * (bars - 36), 11), 3.4))
    offsets = bar_offsets(len(series))
    step = 0.8 / len(series)
    x = np.arange(k)
    annotate = k * len(series) <= 12
    for offset, (name, values) in zip(offsets, series):
        bars = ax.bar(x + offset, values, step, label=_series_label(name, counts),
                      color=COLORS.get(name))
        if annotate:
            ax.bar_label(bars, fontsize=7, padding=1)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xticks(x)
    ax.set_xticklabels(counts.names, fontsize=8 if k <= 20 else 6,
                       rotation=0 if k <= 20 else 90)
    ax.set_xlim(-0.6, k - 0.4)
    ax.margins(y=0.12)
    what = "label" if counts.kind == "multilabel" else "class"
    ax.set_xlabel(what)
    ax.set_ylabel("validation rows")
    ax.set_title("Validation rows per " + what + ": labels vs predictions")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    return _png(fig)


def _confusion_figure(counts: ClassCounts, titles: dict) -> str:
    names = list(counts.confusion)
    k = len(counts.names)
    side = 2.7 if k <= 4 else 4.2
    fig, axes = _figure((side * len(names) + 0.6, side + 0.4), panels=len(names))
    top = max(int(m.max()) for m in counts.confusion.values()) or 1
    for ax, name in zip(axes, names):
        matrix = counts.confusion[name]
        ax.imshow(matrix, cmap="Blues", vmin=0, vmax=top)
        if k <= 12:
            for i in range(k):
                for j in range(k):
                    if matrix[i, j] or k <= 4:
                        ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                                color="white" if matrix[i, j] > 0.6 * top else "black")
        ticks = np.arange(k) if k <= 20 else np.arange(0, k, max(k // 10, 1))
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
        ax.set_xticklabels([counts.names[t] for t in ticks], fontsize=7)
        ax.set_yticklabels([counts.names[t] for t in ticks], fontsize=7)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class (y_val)")
        ax.set_title(titles.get(name, name), fontsize=9)
    fig.tight_layout()
    return _png(fig)


def _which(names) -> str:
    """'before (red) and after (green) the repair', for the series that are drawn."""
    if "kept" in names:
        return "by the given model, which autofix kept (blue)"
    words = {"before": "before (red)", "after": "after (green)"}
    drawn = [words[n] for n in ("before", "after") if n in names]
    return " and ".join(drawn) + " the repair" if drawn else ""


def _class_caption(counts: ClassCounts, pred_note: str) -> str:
    which = _which(counts.predicted)
    if counts.kind == "multilabel":
        text = ("Per label: validation rows with the label on (grey)"
                + (f", and rows the model predicts it for (output > 0.5), {which}." if which else "."))
    else:
        text = ("Per class, at its tick: validation rows with that label (grey)"
                + (f" and rows the model predicts as that class, {which}. Predicted class: "
                   "output > 0.5 for one sigmoid column, the largest column for several, the "
                   "nearest class id for one output on more than two ids. Perfect predictions "
                   "give equal bars." if which else "."))
    return escape(text + pred_note)


def _prediction_note(counts: ClassCounts) -> str:
    parts = [f"{_count(bad, name + ' prediction')} NaN or inf and not counted."
             for name, bad in counts.nonfinite.items() if bad]
    parts += [f"No {name} bars: {why}." for name, why in counts.skipped.items()]
    return (" " + " ".join(parts)) if parts else ""


# ----------------------------------------------------------------------------- regression

def histogram_range(series: list) -> tuple[float, float]:
    """Shared bins' range: every finite value (targets first, then predictions), unless a
    few far-off predictions would squash the rest: then the targets' range widened to the
    2nd-98th percentile of each prediction series (values outside go to the end bins)."""
    full, robust = [], []
    for i, values in enumerate(series):
        values = values[np.isfinite(values)]
        if values.size:
            full.append((values.min(), values.max()))
            robust.append(full[-1] if i == 0 else
                          tuple(np.percentile(values, [2, 98], method="nearest")))
    if not full:
        return 0.0, 1.0
    lo, hi = float(min(a for a, _ in full)), float(max(b for _, b in full))
    r_lo, r_hi = float(min(a for a, _ in robust)), float(max(b for _, b in robust))
    if hi - lo > 3 * (r_hi - r_lo):
        lo, hi = r_lo, r_hi
    return (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)


def _regression_figure(y_val, predictions: dict) -> tuple[str, str]:
    from matplotlib.ticker import MaxNLocator

    fig, ax = _figure()
    y = np.asarray(y_val, dtype=float)
    series = [("labels", y)]
    notes = []
    for name, p in predictions.items():
        if p is None:
            continue
        p = np.asarray(p, dtype=float)
        if p.size == 0 or len(p) != len(y):
            notes.append(f"No {name} histogram: {len(p)} predictions for {len(y)} labels.")
            continue
        series.append((name, p))
    columns = y.reshape(len(y), -1).shape[1]
    flat = [(name, v.reshape(len(v), -1)[:, 0]) for name, v in series]
    lo, hi = histogram_range([v for _, v in flat])
    bins = np.linspace(lo, hi, 41)
    for name, values in flat:
        ok = np.isfinite(values)
        bad = int((~ok).sum())
        outside = int(((values[ok] < lo) | (values[ok] > hi)).sum())
        label = SERIES_NAMES.get(name, name) + (f", {bad} NaN/inf rows not counted" if bad else "")
        ax.hist(np.clip(values[ok], lo, hi), bins=bins, alpha=0.45, label=label,
                color=COLORS.get(name))
        if bad:
            notes.append(f"{_count(bad, name + ' value')} NaN or inf and not counted.")
        if outside:
            notes.append(f"{_count(outside, name + ' value')} outside the range shown, counted "
                         "in the end bins.")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("value" + (" (first output column)" if columns > 1 else ""))
    ax.set_ylabel("validation rows")
    ax.set_title("Validation targets and predictions")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, frameon=False)
    which = _which([name for name, _ in series])
    caption = ("Histograms on shared bins: the validation targets (grey)"
               + (f" and the predictions, {which}. A model that learned spreads its predictions "
                  "like the targets; a collapsed one piles them into one bin." if which else "."))
    return _png(fig), escape(" ".join([caption, *notes]))


# ----------------------------------------------------------------------------- page

def _predictions(report: dict, extra: dict) -> tuple[dict, str]:
    """The prediction series to draw, and a note on what is missing."""
    before, after = extra.get("pred_before"), extra.get("pred_after")
    note = ""
    if before is not None and after is not None and (
            after is before or (np.shape(after) == np.shape(before)
                                and np.array_equal(after, before, equal_nan=True))):
        return {"kept": before}, ""
    if after is None:
        note = " There is no repaired model, so there are no after predictions."
    if before is None:
        note += " The given model's predictions are not available."
    return {"before": before, "after": after}, note


def _prediction_images(report: dict, extra: dict) -> list[tuple[str, str, str, bool]]:
    """(alt text, PNG data URL or "" for a note alone, caption HTML, full width?) per chart."""
    kind = report.get("task")
    predictions, note = _predictions(report, extra)
    y_val = extra["y_val"]
    if kind not in ("binary", "multiclass", "multilabel"):
        src, caption = _regression_figure(y_val, predictions)
        return [("prediction distributions", src, caption + escape(note), False)]
    try:
        counts = class_counts(kind, y_val, predictions)
    except Exception as err:  # noqa: BLE001 - a chart must not cost the page
        return [("", "", escape(f"No class chart: the labels could not be read as {kind} "
                                f"classes ({type(err).__name__}: {err})."), False)]
    images = [("prediction distributions", _class_figure(counts),
               _class_caption(counts, _prediction_note(counts) + note),
               len(counts.names) * (1 + len(counts.predicted)) > 36)]
    if counts.confusion:
        base, fix = report.get("baseline") or {}, report.get("fix") or {}
        metric = report.get("metric", "metric")
        titles = {"before": f"before (given model)\n{metric} {number(base.get('original'))}",
                  "after": f"after (repaired model)\n{metric} {number(fix.get('metric'))}",
                  "kept": f"given model (kept)\n{metric} {number(base.get('original'))}"}
        cells = "number and colour = rows" if len(counts.names) <= 12 else "colour = rows"
        images.append(("confusion matrices", _confusion_figure(counts, titles), escape(
            f"Confusion matrices on the validation rows: row = true class, column = predicted "
            f"class, {cells}. A perfect model fills only the diagonal; a collapsed one fills a "
            "single column."), True))
    return images


def render(result) -> str:
    """The HTML page for a :class:`~autofix.reporting.result.RepairResult`."""
    import matplotlib

    matplotlib.use("Agg")
    report = result.report()  # strict JSON values: no NaN or inf reaches the page
    extra = result.details or {}
    setup = extra.get("setup") or {}
    original = extra.get("original_losses") or []
    curves = loss_curves(original, report["attempts"], setup.get("loss") or "")
    missing = None if original else _why_no_original(result, extra)
    loss_caption = _loss_caption(curves, missing, _early_stop(result, extra, len(original)))
    images = []
    if any(c.drawn for c in curves):
        images.append(("loss curves", _loss_figure(curves), loss_caption, False))
    else:
        images.append(("", "", "No loss curve to draw. " + loss_caption, False))
    if extra.get("y_val") is not None:
        images += _prediction_images(report, extra)
    figs = "".join(
        f"<figure{' class=wide' if wide else ''}><img alt='{escape(name)}' "
        f"src='{src}'><figcaption>{caption}</figcaption></figure>"
        if src else f"<p class='note'>{caption}</p>"
        for name, src, caption, wide in images)
    findings = "".join(
        f"<tr><td class='{_text(f.get('severity'))}'>{_text(f.get('severity'))}</td>"
        f"<td><b>{_text(f.get('code'))}</b></td>"
        f"<td>{_text(f.get('message'))}<details><summary>evidence</summary><pre>"
        f"{escape(json.dumps(f.get('evidence'), indent=1, default=str))}</pre></details></td></tr>"
        for f in report["findings"]) or "<tr><td colspan=3>no findings</td></tr>"
    attempts = "".join(
        f"<tr><td>{i}</td><td>{_text(' + '.join(a.get('strategies') or []))}</td>"
        f"<td>{number(a.get('metric'))}</td><td>{_text(a.get('outcome'))}</td>"
        f"<td>{_int(a.get('epochs'))}</td><td>{number(a.get('seconds'), '.1f')}</td>"
        f"<td>{_text(a.get('reason'))}</td></tr>"
        for i, a in enumerate(report["attempts"], 1)) or "<tr><td colspan=7>no attempts</td></tr>"
    base = report.get("baseline") or {}
    edits = (report.get("fix") or {}).get("edits")
    in_script = (f"<h2>The same repair in your own script</h2><p class='note'>x_train, y_train: "
                 f"your arrays</p><pre>{escape(as_text(edits))}</pre>" if edits else "")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>autofix report</title>
<style>{STYLE}</style></head><body>
<h1>autofix report</h1>
<p class="verdict {_text(report['status'])}">{_text(verdict_line(report))}</p>
<p>task: <b>{_text(report['task'])}</b> · metric: <b>{_text(report['metric'])}</b> · constant baseline
{number(base.get('constant'))} · original model {number(base.get('original'))}
· {number(report.get('seconds'), '.1f')} s · autofix {_text(report.get('autofix_version'))}</p>
<h2>What autofix saw</h2>
<table><tr><th>severity</th><th>code</th><th>message and evidence</th></tr>{findings}</table>
{in_script}
<h2>Training and predictions</h2><div class="figs">{figs}</div>
<h2>Attempts</h2>
<table><tr><th>#</th><th>strategies</th><th>{_text(report['metric'])}</th><th>verdict</th><th>epochs</th><th>seconds</th><th>why</th></tr>{attempts}</table>
</body></html>"""
