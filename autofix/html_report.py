"""One self-contained HTML file for a repair: findings with evidence, loss curves,
prediction distributions before and after, and the attempts (images embedded as PNG)."""

from __future__ import annotations

import base64
import io
import json
from html import escape

import numpy as np

from .report import verdict_line

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.verdict{padding:.8em 1em;border-radius:6px;font-weight:600}
.repaired,.healthy{background:#e6f4ea;color:#135e2c} .unrepairable{background:#fde8e8;color:#8a1c1c}
table{border-collapse:collapse;width:100%;font-size:.92em} td,th{border:1px solid #ddd;padding:.35em .5em;vertical-align:top;text-align:left}
.error{color:#b3261e;font-weight:600} .warning{color:#8a6100;font-weight:600} .info{color:#0b57d0}
.figs{display:flex;gap:1em;flex-wrap:wrap} .figs img{max-width:530px;width:100%;border:1px solid #eee}
pre{white-space:pre-wrap;font-size:.85em;margin:0}
"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _loss_figure(original: list, attempts: list) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    if original:
        ax.plot(range(1, len(original) + 1), _finite(original), "k--", lw=2, label="original setup")
    for i, a in enumerate(attempts, 1):
        if a.get("losses"):
            ax.plot(range(1, len(a["losses"]) + 1), _finite(a["losses"]),
                    label=f"#{i} {' + '.join(a['strategies'])}"[:48])
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    values = [v for v in _finite(original) + [x for a in attempts for x in _finite(a.get("losses") or [])]
              if v is not None and np.isfinite(v)]
    if values and min(values) > 0 and max(values) / min(values) > 100:
        ax.set_yscale("log")
    ax.set_title("Loss: original setup vs each attempt")
    ax.legend(fontsize=7)
    return _png(fig)


def _finite(values) -> list:
    return [float(v) if v is not None and np.isfinite(v) else np.nan for v in values]


def _prediction_figure(task: str, y_val, before, after) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    series = [("labels (y_val)", y_val, "#999999"), ("before", before, "#d93025"),
              ("after", after, "#188038")]
    series = [(n, np.asarray(v, dtype=float), c) for n, v, c in series if v is not None]
    if task == "regression":
        flat = [v.reshape(len(v), -1)[:, 0] for _, v, _ in series]
        finite = np.concatenate([f[np.isfinite(f)] for f in flat]) if flat else np.zeros(1)
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi <= lo:
            hi = lo + 1.0
        bins = np.linspace(lo, hi, 40)
        for (name, _, color), values in zip(series, flat):
            ax.hist(values[np.isfinite(values)], bins=bins, alpha=0.45, label=name, color=color)
        ax.set_xlabel("predicted value")
    else:
        def ids(v):
            v = v.reshape(len(v), -1)
            return (v[:, 0] > 0.5).astype(int) if v.shape[1] == 1 else v.argmax(axis=1)

        width = 0.27
        k = max(int(ids(v).max()) + 1 for _, v, _ in series)
        for j, (name, values, color) in enumerate(series):
            counts = np.bincount(ids(values), minlength=k)
            ax.bar(np.arange(k) + (j - 1) * width, counts, width, label=name, color=color)
        ax.set_xlabel("class")
    ax.set_ylabel("rows")
    ax.set_title("Validation predictions: before and after")
    ax.legend(fontsize=8)
    return _png(fig)


def _metric(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def render(result) -> str:
    """The HTML page for a :class:`~autofix.result.RepairResult`."""
    import matplotlib

    matplotlib.use("Agg")
    report = result.report()
    extra = result.details
    images = [("loss curves", _loss_figure(extra.get("original_losses") or [], report["attempts"]))]
    if extra.get("y_val") is not None:
        images.append(("prediction distributions", _prediction_figure(
            report["task"], extra["y_val"], extra.get("pred_before"), extra.get("pred_after"))))
    findings = "".join(
        f"<tr><td class='{escape(f['severity'])}'>{escape(f['severity'])}</td><td><b>{escape(f['code'])}</b></td>"
        f"<td>{escape(f['message'])}<details><summary>evidence</summary><pre>"
        f"{escape(json.dumps(f['evidence'], indent=1))}</pre></details></td></tr>"
        for f in report["findings"]) or "<tr><td colspan=3>no findings</td></tr>"
    attempts = "".join(
        f"<tr><td>{i}</td><td>{escape(' + '.join(a['strategies']))}</td><td>"
        f"{_metric(a['metric'])}"
        f"</td><td>{escape(a['outcome'])}</td><td>{a['epochs']}</td><td>{a['seconds']:.1f}</td>"
        f"<td>{escape(a['reason'])}</td></tr>"
        for i, a in enumerate(report["attempts"], 1)) or "<tr><td colspan=7>no attempts</td></tr>"
    figs = "".join(f"<img alt='{escape(name)}' src='{src}'>" for name, src in images)
    base = report["baseline"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>autofix report</title>
<style>{STYLE}</style></head><body>
<h1>autofix report</h1>
<p class="verdict {escape(report['status'])}">{escape(verdict_line(report))}</p>
<p>task: <b>{escape(report['task'])}</b> · metric: <b>{escape(report['metric'])}</b> · constant baseline
{_metric(base['constant'])} · original model {_metric(base['original'])}
· {report['seconds']:.1f} s · autofix {escape(report['autofix_version'])}</p>
<h2>What autofix saw</h2>
<table><tr><th>severity</th><th>code</th><th>message and evidence</th></tr>{findings}</table>
<h2>Training and predictions</h2><div class="figs">{figs}</div>
<h2>Attempts</h2>
<table><tr><th>#</th><th>strategies</th><th>{escape(report['metric'])}</th><th>verdict</th><th>epochs</th><th>seconds</th><th>why</th></tr>{attempts}</table>
</body></html>"""
