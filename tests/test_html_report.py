"""The self-contained HTML report renders, with its images embedded (and in Chromium), and
its charts draw what they claim: per-class counts that match, comparable loss curves."""

import base64
import dataclasses
import re
import shutil
import subprocess

import numpy as np
import pytest
from typer.testing import CliRunner

import autofix
from autofix.cli import app
from autofix.reporting.html import (
    _int,
    _loss_figure,
    bar_offsets,
    class_counts,
    histogram_range,
    loss_curves,
    relative_curve,
    render,
)
from autofix.reporting.terminal import number

IMG = re.compile(r"<img alt='([^']+)' src='data:image/png;base64,([A-Za-z0-9+/=]+)'>")
PNG = b"\x89PNG\r\n\x1a\n"

#: one scenario per kind of page: regression, binary (one sigmoid), 10 classes (one-hot)
SCENARIOS = {"regression": "relu_output_signed_targets", "binary": "softmax_single_unit",
             "multiclass": "mse_on_onehot"}


@pytest.fixture(scope="module")
def results(case):
    """One repaired result per kind, repaired on first use."""
    cache = {}

    def get(kind):
        if kind not in cache:
            c = case(SCENARIOS[kind])
            cache[kind] = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size)
        return cache[kind]

    return get


@pytest.fixture(scope="module")
def page(results):
    return render(results("regression"))


def _with_details(result, **details):
    return dataclasses.replace(result, details={**result.details, **details})


def test_page_embeds_its_figures(page):
    images = IMG.findall(page)
    assert {name for name, _ in images} == {"loss curves", "prediction distributions"}
    for _, data in images:
        assert base64.b64decode(data)[:8] == PNG
    assert "output_activation_mismatch" in page and "repaired with swap_output_activation" in page
    assert "http://" not in page and "https://" not in page  # self-contained
    # the same repair as edits to the user's script, the output layer's constructor included
    assert "The same repair in your own script" in page
    assert "+ keras.layers.Dense(1)" in page


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_classification_page_has_class_counts_and_confusion(results, kind):
    result = results(kind)
    assert result.task == kind and result.status == "repaired"
    page = render(result)
    images = IMG.findall(page)
    assert [name for name, _ in images] == ["loss curves", "prediction distributions",
                                            "confusion matrices"]
    assert all(base64.b64decode(data)[:8] == PNG for _, data in images)
    counts = class_counts(kind, result.details["y_val"], {"before": result.details["pred_before"],
                                                          "after": result.details["pred_after"]})
    k = 2 if kind == "binary" else 10
    assert counts.names == [str(i) for i in range(k)]
    assert counts.labels.sum() == len(result.details["y_val"])
    for name in ("before", "after"):  # each row counted once, in its true row and predicted column
        assert counts.predicted[name].sum() == len(result.details["y_val"])
        np.testing.assert_array_equal(counts.confusion[name].sum(axis=1), counts.labels)
        np.testing.assert_array_equal(counts.confusion[name].sum(axis=0), counts.predicted[name])


# ----------------------------------------------------------------------------- class counts

IDS = np.repeat(np.arange(10), [3, 5, 7, 9, 11, 13, 4, 6, 8, 2])  # 68 rows, unequal classes


def _softmax_of(ids, k=10):
    p = np.full((len(ids), k), 0.02)
    p[np.arange(len(ids)), ids] = 0.82
    return p


@pytest.mark.parametrize("labels, pred", [
    (IDS, _softmax_of(IDS)),  # ids vector, K softmax columns
    (IDS.reshape(-1, 1).astype("float32"), _softmax_of(IDS)),  # a column of ids
    (np.eye(10)[IDS], _softmax_of(IDS)),  # one-hot rows
    (IDS, IDS.reshape(-1, 1) + 0.2),  # one unit on ids: the nearest id (was lumped by p > 0.5)
], ids=["ids-vector", "ids-column", "onehot", "one-unit-ids"])
def test_class_counts_match_at_perfect_predictions_10_classes(labels, pred):
    counts = class_counts("multiclass", labels, {"before": np.full((len(IDS), 1), 3.0)
                                                 if pred.shape[1] == 1 else _softmax_of(np.full_like(IDS, 3)),
                                                 "after": pred})
    expected = np.bincount(IDS, minlength=10)
    assert counts.names == [str(i) for i in range(10)]
    np.testing.assert_array_equal(counts.labels, expected)
    np.testing.assert_array_equal(counts.predicted["after"], expected)
    np.testing.assert_array_equal(np.diag(counts.confusion["after"]), expected)
    collapsed = np.zeros(10, dtype=int)
    collapsed[3] = len(IDS)
    np.testing.assert_array_equal(counts.predicted["before"], collapsed)


@pytest.mark.parametrize("labels", [
    np.array([0, 1, 1, 0, 1, 1, 1, 0]), np.array([[0.0], [1], [1], [0], [1], [1], [1], [0]]),
    np.eye(2)[[0, 1, 1, 0, 1, 1, 1, 0]],
], ids=["ids-vector", "ids-column", "onehot"])
def test_class_counts_binary_sigmoid_column(labels):
    truth = np.array([0, 1, 1, 0, 1, 1, 1, 0])
    sigmoid = np.where(truth == 1, 0.9, 0.1).reshape(-1, 1)
    counts = class_counts("binary", labels, {"after": sigmoid, "before": np.ones((8, 1))})
    assert counts.names == ["0", "1"]
    np.testing.assert_array_equal(counts.labels, [3, 5])
    np.testing.assert_array_equal(counts.predicted["after"], [3, 5])
    np.testing.assert_array_equal(counts.predicted["before"], [0, 8])
    np.testing.assert_array_equal(counts.confusion["before"], [[0, 3], [0, 5]])


def test_class_counts_keep_classes_missing_from_y_val():
    labels = np.array([0, 0, 2, 2, 3])  # class 1 is absent from the validation rows
    pred = _softmax_of(np.array([0, 1, 2, 2, 3]), k=4)
    counts = class_counts("multiclass", labels, {"after": pred})
    assert counts.names == ["0", "1", "2", "3"]
    np.testing.assert_array_equal(counts.labels, [2, 0, 2, 1])
    np.testing.assert_array_equal(counts.predicted["after"], [1, 1, 2, 1])


def test_class_counts_leave_out_nan_rows_and_mismatched_predictions():
    pred = _softmax_of(IDS)
    pred[:4] = np.nan
    counts = class_counts("multiclass", IDS, {"after": pred, "before": np.zeros((5, 10))})
    assert counts.nonfinite["after"] == 4 and counts.predicted["after"].sum() == len(IDS) - 4
    assert "before" not in counts.predicted and "5 predictions" in counts.skipped["before"]


def test_class_counts_multilabel():
    labels = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1]])
    counts = class_counts("multilabel", labels, {"after": labels * 0.8 + 0.1})
    np.testing.assert_array_equal(counts.labels, [2, 2, 3])
    np.testing.assert_array_equal(counts.predicted["after"], [2, 2, 3])
    assert counts.confusion == {}


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_bars_are_centred_on_their_class_tick(n):
    offsets = bar_offsets(n)
    assert len(offsets) == n and abs(offsets.mean()) < 1e-12
    assert np.all(np.abs(offsets) + 0.8 / n / 2 <= 0.4 + 1e-12)  # within the class's slot


def test_histogram_range_is_not_squashed_by_a_diverged_prediction():
    targets = np.linspace(-10, 10, 200)
    wild = np.concatenate([targets[:-1], [1e12]])
    assert histogram_range([targets, wild]) == (-10.0, 10.0)
    assert histogram_range([targets, targets * 1.2]) == (-12.0, 12.0)  # all of a sane spread
    assert histogram_range([np.full(3, np.nan)]) == (0.0, 1.0)
    assert histogram_range([np.full(3, 2.0)]) == (1.5, 2.5)


# ----------------------------------------------------------------------------- loss curves

def test_loss_chart_handles_different_scales_and_none():
    attempts = [{"strategies": ["change_loss"], "losses": [0.9, None, 0.45],
                 "params": {"loss": "categorical_crossentropy"}},
                {"strategies": ["rescale_targets"], "losses": [1.2, 0.6, 0.3]},
                {"strategies": ["broken"], "losses": [None, None]},
                {"strategies": ["failed"], "losses": []}]
    curves = loss_curves([3e4, 2e4, None, 1e4], attempts, "mean_squared_error")
    assert [c.label for c in curves] == ["original setup", "#1 change_loss", "#2 rescale_targets",
                                         "#3 broken"]
    original, first, second, broken = curves
    np.testing.assert_allclose(original.relative, [1, 2 / 3, np.nan, 1 / 3])
    np.testing.assert_allclose(first.relative, [1, np.nan, 0.5])
    np.testing.assert_allclose(second.relative, [1, 0.5, 0.25])
    assert original.first == 3e4 and original.loss == "mean_squared_error"
    assert "not finite at epoch 3" in original.note
    assert not broken.drawn and broken.note == "no finite loss"
    assert base64.b64decode(_loss_figure(curves).split(",", 1)[1])[:8] == PNG


def test_loss_curves_that_start_at_or_below_zero_are_not_divided():
    assert not relative_curve("#1", [0.0, 0.5]).drawn
    curve = relative_curve("#1", [-2.0, -3.0])
    assert not curve.drawn and "not positive" in curve.note
    assert relative_curve("#1", [float("nan"), float("inf"), 4.0, 2.0]).relative[2:] == [1.0, 0.5]


def test_page_loss_chart_with_mixed_scales(results):
    result = _with_details(results("regression"), original_losses=[3.1e4, None, 2.9e4, float("nan")],
                           original_error=None)
    page = render(result)
    assert "loss curves" in {name for name, _ in IMG.findall(page)}
    assert "divided by its own first finite value" in page
    assert "original setup: loss not finite at epoch 2 and 1 more" in page
    assert "No curve for the original setup" not in page


# ----------------------------------------------------------------------------- missing curve

def test_page_says_why_the_original_curve_is_missing(results):
    result = results("regression")
    assert result.details["original_losses"] == [] and not result.diagnosis.reran
    page = render(_with_details(result, original_error=None))
    assert "No curve for the original setup: it was not retrained" in page
    error = "ValueError: Arguments `target` and `output` must have the same shape <(None, 1)>"
    page = render(_with_details(result, original_error=error))
    assert ("No curve for the original setup: its training failed: ValueError: Arguments "
            "`target` and `output` must have the same shape &lt;(None, 1)&gt;") in page


# ----------------------------------------------------------------------------- None and NaN

def test_formatters_show_a_dash_for_missing_numbers():
    for value in (None, float("nan"), float("inf"), "nan", "x"):
        assert number(value) == "-" and _int(value) == "-"
    assert number(0.5) == "0.500" and number(np.float32(2), ".1f") == "2.0" and _int(3.0) == "3"
    assert number(7) == "7"  # a count stays a count


class _Bare:
    """A result whose numbers are all missing (None or NaN)."""

    def __init__(self, task, y_val, before):
        self.task, self.diagnosis = task, None
        self.details = {"original_losses": [None, float("nan")], "y_val": y_val,
                        "pred_before": before, "pred_after": None, "setup": {}}

    def report(self):
        return {"autofix_version": "0", "status": "unrepairable", "task": self.task,
                "metric": "balanced_accuracy", "seconds": None, "fix": None,
                "baseline": {"constant": None, "original": float("nan")},
                "findings": [{"severity": "error", "code": "c", "message": None, "evidence": None}],
                "attempts": [{"strategies": ["s"], "metric": None, "outcome": "failed",
                              "epochs": None, "seconds": None, "reason": None,
                              "losses": [None]}]}


@pytest.mark.parametrize("task, y_val, before", [
    ("multiclass", IDS, np.full((len(IDS), 10), np.nan)),
    ("binary", np.array([0, 1, 0, 1]), np.array([[0.2], [np.nan], [0.7], [0.9]])),
    ("regression", np.arange(5.0), np.array([np.nan, 1, 2, np.inf, 3])),
])
def test_page_survives_none_and_nan(task, y_val, before):
    page = render(_Bare(task, y_val, before))
    text = re.sub(r"src='[^']*'", "", page).lower()
    assert "nan" not in text.replace("nan or inf", "").replace("nan/inf rows", "")
    assert "No loss curve to draw" in page and "There is no repaired model" in page
    assert IMG.findall(page)


# ----------------------------------------------------------------------------- CLI, Chromium

def test_cli_writes_html(case, tmp_path):
    c = case("zero_init")
    c.model.save(tmp_path / "m.keras")
    np.savez(tmp_path / "d.npz", x=c.x, y=c.y)
    result = CliRunner().invoke(app, ["repair", str(tmp_path / "m.keras"), str(tmp_path / "d.npz"),
                                      "--html", str(tmp_path / "r.html"), "--quiet"])
    assert result.exit_code == 0
    assert len(IMG.findall((tmp_path / "r.html").read_text())) == 2


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package "
                    "'chromium'); .ci/run installs it")
@pytest.mark.parametrize("kind", ["regression", "binary", "multiclass"])
def test_page_renders_in_headless_chromium(results, kind, tmp_path):
    page = render(results(kind))
    expected = len(IMG.findall(page))
    assert expected == (2 if kind == "regression" else 3)
    html = tmp_path / "report.html"
    probe = page.replace("</body>", """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  document.title = 'loaded:' + imgs.filter(i => i.complete && i.naturalWidth > 0).length + '/' + imgs.length;
});</script></body>""")
    html.write_text(probe)
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000",
         "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120)
    assert f"<title>loaded:{expected}/{expected}</title>" in proc.stdout, proc.stderr[-2000:]
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile2'}",
                    f"--screenshot={shot}", "--window-size=1200,1600", html.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000
