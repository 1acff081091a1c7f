"""Findings: what the diagnosis saw, with a code, a severity, evidence and a message."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

import numpy as np

SEVERITIES = ("error", "warning", "info")

CODES = {
    "degenerate_predictions": "(near-)constant predictions, or no better than the constant baseline",
    "unscaled_inputs": "input features on wildly different or very large scales",
    "unscaled_targets": "regression targets far from the scale the output layer can reach at init",
    "output_activation_mismatch": "the output activation cannot produce the targets",
    "loss_mismatch": "the loss does not fit the task or label format",
    "label_encoding": "class labels the head or loss cannot read as they are (ids beyond the head, scaled ids, ids where one-hot rows are read)",
    "symmetric_init": "zero or constant weight initialization: units that can never differ",
    "dead_units": "ReLU units that never activate on the data",
    "learning_rate_too_high": "loss diverges, oscillates or becomes NaN",
    "learning_rate_too_low": "loss barely moves",
    "undertrained": "loss still falling when training stops",
    "nonfinite_loss": "NaN or inf loss or weights during training",
    "vanishing_gradients": "gradients of early layers orders of magnitude below later ones",
    "constant_target": "every label is the same: a data problem, not repairable by changing the model",
    "target_leakage": "a feature equals or trivially predicts the target",
    "nonfinite_data": "NaN or inf in x or y",
    "absent_classes": "classes (one-hot columns) that never occur in y",
    "class_imbalance": "predictions collapse onto the majority class",
    "no_signal": "a reference scikit-learn model cannot beat the constant baseline either",
    "fit_error": "the original training setup fails inside model.fit (Keras's error quoted)",
    "below_reference": "the repair works but recovers less than 90% of what a reference model reaches",
    "frozen_layers": "layers set trainable=False keep their random start: the model cannot learn",
    "narrow_bottleneck": "a hidden layer narrower than the output needs squeezes what reaches it",
    "underperforming_weights": "the model as given falls well short of what its own setup reaches retrained from fresh weights: its weights, not its design, hold it back",
    "heavy_dropout": "dropout rates so high that too little of each layer's output gets through to learn",
}

#: a repair handed back below this share of the reference's gain over the constant baseline
#: says so (``below_reference``)
SHORT_OF_REFERENCE = 0.9

#: Findings about the data that no change to the model can repair: as errors they stop the
#: repair (``target_leakage`` only on a model that works; see ``Diagnosis.data_problem``).
#: NaN/inf rows (``nonfinite_data``, a warning) are dropped and the repair goes on.
DATA_PROBLEMS = frozenset({"constant_target", "target_leakage"})


def plain(value):
    """Evidence as strict-JSON-ready Python values: a number is a finite number or None
    (never NaN, inf, or a string standing in for one)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not np.isfinite(value):
            return None
        return float(f"{value:.6g}")
    return value


@dataclass
class Finding:
    code: str
    severity: str
    message: str
    evidence: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.code not in CODES:
            raise ValueError(f"unknown finding code {self.code!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        self.evidence = plain(self.evidence)

    def to_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "evidence": self.evidence}

    def __str__(self) -> str:
        return f"[{self.severity}] {self.code}: {self.message}"

    def _repr_html_(self) -> str:
        return (f"<b>{escape(self.code)}</b> <i>({escape(self.severity)})</i>: "
                f"{escape(self.message)}")


class Findings(list):
    """A list of :class:`Finding` that shows itself as a table in Jupyter."""

    def _repr_html_(self) -> str:
        return html_table([f.to_dict() for f in self])


def html_table(findings: list[dict]) -> str:
    """Findings (report dicts) as an HTML table: severity, code, message."""

    rows = "".join(f"<tr><td>{escape(f['severity'])}</td><td><b>{escape(f['code'])}</b></td>"
                   f"<td>{escape(f['message'])}</td></tr>" for f in findings)
    return ("<table><tr><th>severity</th><th>code</th><th>message</th></tr>"
            f"{rows or '<tr><td colspan=3>no findings</td></tr>'}</table>")


def codes(findings) -> set[str]:
    return {f.code for f in findings}
