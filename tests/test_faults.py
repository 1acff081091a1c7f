"""Faults inside a repair, budgets and the absence of side effects (issue: never crash,
never lose work)."""

import socket
import time

import numpy as np
import pytest

import autofix
from autofix.search.attempt import run_attempt
from autofix.search.candidate import Candidate
from autofix.strategies import Strategy, registry
from autofix.strategies import base as strategies_base


class Boom(Strategy):
    name = "boom"
    summary = "raises, always"
    answers = frozenset({"symmetric_init"})
    order = 5

    def apply(self, draft, problem):
        raise RuntimeError("kaboom")


class Explode(Strategy):
    name = "explode"
    summary = "a learning rate that makes the loss NaN"
    answers = frozenset({"symmetric_init"})
    order = 95
    tuning = True

    def apply(self, draft, problem):
        draft.setup = draft.setup.replace(learning_rate=1e12, optimizer="SGD", optimizer_config={})


@pytest.fixture
def extra_strategy(monkeypatch):
    def add(strategy_cls):
        monkeypatch.setitem(strategies_base._REGISTRY, strategy_cls.name, strategy_cls())
    return add


def test_a_strategy_that_raises_is_a_failed_attempt(case, extra_strategy):
    extra_strategy(Boom)
    c = case("zero_init")
    result = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size)
    failed = [a for a in result.report()["attempts"] if a["outcome"] == "failed"]
    assert failed and "kaboom" in failed[0]["reason"] and "boom" in failed[0]["strategies"]
    assert result.status == "repaired"
    assert "boom" not in result.report()["fix"]["strategies"]


def test_a_candidate_whose_loss_goes_nan_is_a_failed_attempt(case, extra_strategy):
    extra_strategy(Explode)
    c = case("zero_init")
    result = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size)
    report = result.report()
    nan = [a for a in report["attempts"] if "explode" in a["strategies"]]
    assert nan and nan[0]["outcome"] == "failed" and "nan" in nan[0]["reason"].lower()
    assert result.status == "repaired"


def test_a_candidate_out_of_its_time_share_stops_and_is_recorded(diagnosed):
    problem, _ = diagnosed("too_few_epochs")
    attempt = run_attempt(Candidate.of(["extend_training"]), problem, registry(),
                          deadline=time.monotonic() + 0.05)
    assert attempt.log.stopped == "time"
    assert "time share" in attempt.reason
    assert attempt.log.epochs_run < attempt.log.epochs_planned


def test_budget_stops_the_search_in_time(case):
    c = case("noise_labels")
    budget = 4.0
    started = time.monotonic()
    result = autofix.repair(c.model, c.x, c.y, epochs=300, batch_size=c.batch_size, budget=budget)
    elapsed = time.monotonic() - started
    assert result.report()["seconds"] <= budget * 1.1 + 0.5, result.report()["seconds"]
    assert elapsed <= budget * 1.1 + 1.0
    assert result.status == "unrepairable"


def test_nothing_reaches_the_network(case, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("autofix tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    c = case("relu_output_signed_targets")
    result = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size)
    assert result.status == "repaired"


def test_repair_with_nonfinite_rows_drops_them_and_goes_on(case):
    """NaN labels are dropped and counted (a warning), not a crash and not a refusal: the
    healthy model is judged on the finite rows, and is healthy."""
    c = case("healthy")
    y = c.y.copy()
    y[:5] = np.nan
    result = autofix.repair(c.model, c.x, y, epochs=c.epochs)
    assert result.status == "healthy", [str(f) for f in result.findings]
    finding = next(f for f in result.findings if f.code == "nonfinite_data")
    assert finding.severity == "warning"
    assert finding.evidence["rows_y"] == 5 and finding.evidence["rows_dropped"] == 5
    assert "dropped 5 of" in finding.message and "unless the data is cleaned" in finding.message
