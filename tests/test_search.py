"""The repair search: a target from a reference model, measured learning rates, early
stopping, a default budget, small-data judging, and candidates that keep what training
never moves."""

import json
import math
import time

import keras
import numpy as np
import pytest

import autofix
from autofix.inputs.preparation import prepare
from autofix.search.candidate import Draft
from autofix.search.engine import (
    CANDIDATE_SHARE,
    Budget,
    SettlingDeadline,
    Target,
    best_attempt,
    epoch_cap,
)
from autofix.training.fit import TrainLog
from autofix.training.lr_finder import range_test, valley
from autofix.training.training_setup import TrainingSetup


def _smooth(n=600, d=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (np.sin(x[:, 0]) + 0.5 * x[:, 1] - 0.3 * x[:, 2] ** 2 + 0.05 * rng.normal(size=n))
    return x, y.astype("float32")


def _mlp(d, activation="relu", out="linear", width=32):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((d,)), keras.layers.Dense(width, activation=activation),
                             keras.layers.Dense(width, activation=activation),
                             keras.layers.Dense(1, activation=out)])


# -- the learning-rate range test -----------------------------------------------------------

def test_valley_picks_the_middle_of_the_longest_descent():
    losses = [5, 5, 4, 3, 2, 1, 0.5, 0.4, 3, 9]
    assert 3 <= valley(losses) <= 5
    assert valley([1, 1, 1, 1, 1]) is None


@pytest.mark.parametrize("optimizer, activation, low, high", [
    ("SGD", "sigmoid", 5e-3, 0.5), ("Adam", "relu", 1e-3, 0.05)])
def test_range_test_measures_a_sane_rate_and_restores_the_weights(optimizer, activation, low, high):
    x, y = _smooth(1000)
    model = _mlp(5, activation)
    before = [w.copy() for w in model.get_weights()]
    setup = TrainingSetup(optimizer=optimizer, learning_rate=1e-3, batch_size=32)
    result = range_test(model, setup, x, y)
    assert low <= result.suggestion <= high, result.to_dict()
    assert result.stopped == "diverged"  # it swept until the loss blew up
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_range_test_survives_a_loss_that_is_nan_from_the_start():
    x, y = _smooth(200)
    x[:, 0] = np.inf
    result = range_test(_mlp(5), TrainingSetup(batch_size=32), x, y, steps=30)
    assert result.suggestion is None and result.stopped == "diverged"


# -- targets, budgets, selection --------------------------------------------------------------

def test_target_and_recovery():
    target = Target.from_reference({"metric": 0.9, "constant": 0.5, "degenerate": False})
    assert target.known and math.isclose(target.recovery(0.86), 0.9)
    assert not Target.from_reference({"metric": 0.5, "constant": 0.5, "degenerate": True}).known


def test_default_budget_scales_with_the_users_training_within_bounds():
    budget = Budget(time.monotonic())
    budget.settle(0.01, 50)  # a 0.5 s training: the floor
    assert budget.seconds == 30.0
    budget = Budget(time.monotonic())
    budget.settle(1.0, 1000)  # a 1000 s training: the ceiling
    assert budget.seconds == 180.0
    given = Budget(time.monotonic(), 5.0, given=True)
    given.settle(1.0, 1000)
    assert given.seconds == 5.0


def test_a_first_candidate_keeps_its_share_of_the_budget_its_own_epochs_settle():
    """A slow first candidate (a GRU, 100 epochs allowed) cannot spend the whole default
    budget before the budget is known: its second epoch settles it, and it keeps its share."""
    started = time.monotonic()
    search = type("S", (), {})()
    search.budget = Budget(started)
    search.problem = type("P", (), {"setup": TrainingSetup(epochs=10)})()
    deadline = SettlingDeadline(search, started)
    assert deadline(TrainLog(epoch_seconds=[3.0])) > started + 100  # one epoch: not yet known
    log = TrainLog(epoch_seconds=[3.0, 2.0, 2.0], passes_per_epoch=4)  # 0.5 s a pass
    assert math.isclose(log.seconds_per_epoch, 0.5)
    assert math.isclose(deadline(log), started + CANDIDATE_SHARE * 50.0)  # 10 x 10 epochs x 0.5 s
    assert search.budget.seconds == 50.0


def test_epoch_cap():
    assert epoch_cap(2) == 100 and epoch_cap(50) == 200 and epoch_cap(1000) == 1000


def test_best_attempt_prefers_the_earlier_of_near_ties():
    class A:
        def __init__(self, metric, degenerate=False):
            self.metric, self.degenerate = metric, degenerate

    first, second, broken = A(0.90), A(0.905), A(0.99, degenerate=True)
    assert best_attempt([first, second, broken]) is first
    assert best_attempt([A(0.5), A(0.8)]).metric == 0.8


# -- the search, end to end -------------------------------------------------------------------

def test_a_repair_reports_reference_recovery_and_budget(case):
    c = case("unnormalized_inputs")
    report = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size).report()
    assert report["status"] == "repaired"
    assert report["baseline"]["reference"] > report["baseline"]["constant"]
    assert report["fix"]["recovery"] >= 0.9
    assert all("recovery" in a for a in report["attempts"])
    assert 30 <= report["budget"] <= 180
    assert "below_reference" not in {f["code"] for f in report["findings"]}


def test_a_repair_short_of_the_reference_says_so():
    """A linear head is all the allowed strategy can give a nonlinear target."""
    x, y = _smooth(600)
    y = y - 0.5
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, activation="relu")])
    model.compile(optimizer="adam", loss="mse")
    result = autofix.repair(model, x, y, epochs=20, strategies=["swap_output_activation"])
    report = result.report()
    assert result.status == "repaired", report["attempts"]
    assert report["fix"]["recovery"] < 0.9
    (warning,) = [f for f in report["findings"] if f["code"] == "below_reference"]
    assert warning["severity"] == "warning" and "%" in warning["message"]
    from autofix.reporting.terminal import verdict_line

    assert "short of what the data allows" in verdict_line(report)


def test_the_budget_is_honoured_and_shown(case):
    c = case("noise_labels")
    started = time.monotonic()
    report = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, budget=6.0).report()
    assert report["budget"] == 6.0
    assert time.monotonic() - started < 6.0 * 1.1 + 8  # + the diagnosis, before the budget's checks
    assert report["status"] == "unrepairable"


def test_a_low_learning_rate_is_measured_not_guessed(case):
    c = case("learning_rate_too_low")
    result = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size)
    assert result.status == "repaired"
    params = result.report()["fix"]["params"]
    assert params["range_test"]["suggestion"] == params["learning_rate"]
    assert 1e-4 <= params["learning_rate"] <= 0.1


# -- small data ---------------------------------------------------------------------------

def _xor(n, seed=0, noise=False):
    """XOR-like data on a few dozen rows, a learning rate far too low to learn it."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 2)).astype("float32")
    y = (x[:, 0] * x[:, 1] > 0).astype("float32")
    if noise:
        y = rng.permutation(y)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="binary_crossentropy")
    model.fit(x, y, epochs=20, verbose=0)
    return model, x, y


def test_tiny_xor_is_repaired_and_judged_by_folds():
    model, x, y = _xor(80)
    problem, _ = prepare(model, x, y, epochs=20)
    assert problem.holdout == "folds"
    result = autofix.repair(model, x, y, epochs=20)
    report = result.report()
    assert result.status == "repaired", report["attempts"]
    assert "cross-validation" in report["fix"]["judged_by"]


def test_the_model_judged_by_folds_is_refit_for_the_folds_median_epochs(monkeypatch):
    """The model handed back trains on every row for the median of the epochs the folds'
    early stopping chose, with no rows spared to stop it."""
    from autofix.search import attempt as attempts
    from autofix.search.candidate import Candidate
    from autofix.search.engine import apply_policy
    from autofix.strategies.base import registry

    model, x, y = _xor(80)
    problem, _ = prepare(model, x, y, epochs=20)
    apply_policy(problem)  # the search's own policy: early stopping in every fold
    runs = []
    real = attempts.train_and_judge

    def recorded(candidate, draft, fold, **kwargs):
        result = real(candidate, draft, fold, **kwargs)
        runs.append((len(fold.x), draft.setup.early_stopping, draft.setup.epochs, result.log))
        return result

    monkeypatch.setattr(attempts, "train_and_judge", recorded)
    attempt = attempts.run_attempt(Candidate.of(["reinitialize_weights"]), problem, registry())
    assert len(runs) == attempts.FOLDS + 1
    folds, refit = runs[:-1], runs[-1]
    assert all(early for _, early, _, _ in folds)
    chosen = [log.best_epoch for _, _, _, log in folds]
    assert refit[:3] == (len(x), False, int(np.median(chosen)))
    assert attempt.params["epochs"] == int(np.median(chosen))
    assert "cross-validation" in attempt.judged_by


def test_tiny_noise_labels_stay_unrepairable():
    model, x, y = _xor(80, noise=True)
    assert autofix.repair(model, x, y, epochs=20).status == "unrepairable"


def test_three_rows_are_answered_and_judged_on_their_training_rows():
    """The seed article's own example: unscaled inputs, SGD, predictions NaN."""
    x = np.array([[1, 1000], [2, 2000], [3, 3000]], dtype="float32")
    y = np.array([1, 2, 3], dtype="float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=100, verbose=0)
    assert "unscaled_inputs" in {f.code for f in autofix.diagnose(model, x, y, epochs=100)}
    result = autofix.repair(model, x, y, epochs=100)
    assert result.status == "repaired"
    assert "training rows" in result.report()["fix"]["judged_by"]
    np.testing.assert_allclose(result.model.predict(x, verbose=0).ravel(), y, atol=0.3)


# -- what training never moves is kept ---------------------------------------------------------

def test_candidates_keep_an_adapted_normalization_and_frozen_pretrained_layers():
    from autofix.search.candidate import Candidate, build
    from autofix.strategies.base import registry

    x, y = _smooth(300)
    x = x * 100 + 50
    norm = keras.layers.Normalization(name="norm")
    norm.adapt(x)
    keras.utils.set_random_seed(0)
    base = keras.layers.Dense(16, activation="relu", name="pretrained", trainable=False)
    model = keras.Sequential([keras.Input((5,)), norm, base, keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    problem, _ = prepare(model, x, y, epochs=5)
    core = Draft.fresh(problem).core
    np.testing.assert_allclose(core.get_layer("norm").get_weights()[0], norm.get_weights()[0])
    # and applies them: the clone's normalization of x is the user's (not mean 0, variance 1)
    np.testing.assert_allclose(np.asarray(core.get_layer("norm")(x[:20])), np.asarray(norm(x[:20])),
                               rtol=1e-5, atol=1e-5)
    for name in ("reinitialize_weights", "rebuild", "normalize_inputs"):  # clones of the core
        draft = build(Candidate.of([name]), problem, registry())
        inner = next(layer for layer in draft.core._flatten_layers() if layer.name == "norm")
        np.testing.assert_allclose(np.asarray(inner(x[:20])), np.asarray(norm(x[:20])),
                                   rtol=1e-5, atol=1e-5)
        # the model's own Normalization does it: no second one in front of it
        assert not draft.preprocess, name
    np.testing.assert_array_equal(core.get_layer("pretrained").get_weights()[0],
                                  base.get_weights()[0])
    assert not core.get_layer("pretrained").trainable


# -- a model that works, but well short of what the data allows -------------------------------

def _relu_head_on_signed_targets():
    """A ReLU output on targets half of which are negative, trained well: it clears the
    constant baseline (R^2 about 0.5) and can never get further."""
    x, y = _smooth(600)
    y = (y - np.median(y)).astype("float32")
    model = _mlp(5, out="relu")
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    return model, x, y


def test_a_working_model_far_short_of_the_reference_is_repaired_past_itself():
    model, x, y = _relu_head_on_signed_targets()
    diagnosis = autofix.diagnose(model, x, y, epochs=40)
    assert "output_activation_mismatch" in {f.code for f in diagnosis if f.severity == "error"}
    result = autofix.repair(model, x, y, epochs=40)
    report = result.report()
    assert result.status == "repaired", report["attempts"]
    assert report["fix"]["metric"] > report["baseline"]["original"] + 0.2
    assert report["fix"]["recovery"] >= 0.9


def test_a_working_model_that_no_candidate_beats_is_left_as_it_is():
    model, x, y = _relu_head_on_signed_targets()
    result = autofix.repair(model, x, y, epochs=40, strategies=["clip_gradients"])
    report = result.report()
    assert report["attempts"], "the allowed strategy was tried"
    assert result.status == "healthy" and result.model is model
    from autofix.reporting.terminal import verdict_line

    assert "left as it is" in verdict_line(report)


def test_diagnose_calls_such_a_model_underperforming(tmp_path):
    from typer.testing import CliRunner

    from autofix.cli import app

    model, x, y = _relu_head_on_signed_targets()
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "data.npz", x=x, y=y)
    out = CliRunner().invoke(app, ["diagnose", str(tmp_path / "model.keras"),
                                   str(tmp_path / "data.npz"), "--epochs", "40", "--json"])
    assert out.exit_code == 1, out.output
    report = json.loads(out.stdout)
    assert report["diagnosis"] == "underperforming"
    assert report["baseline"]["original"] > report["baseline"]["constant"]
