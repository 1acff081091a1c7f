"""The quick benchmark in CI: a repair that stops working fails here (timings never do)."""

import json

import pytest

from benchmarks.run import main


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One run of ``python -m benchmarks.run --quick``: (exit code, results, RESULTS.md)."""
    out = tmp_path_factory.mktemp("quick-bench")
    code = main(["--quick", "--out", str(out)])
    return code, json.loads((out / "results.json").read_text()), (out / "RESULTS.md").read_text()


def test_quick_benchmark_repairs_what_it_should(quick):
    code, results, text = quick
    assert code == 0
    assert results["scenarios"] and all(row["passed"] for row in results["scenarios"])
    assert {row["status"] for row in results["scenarios"]} == {"repaired", "unrepairable", "healthy"}
    assert text.startswith("# autofix benchmark")


def test_quick_benchmark_measures_recovery_against_the_reference(quick):
    from autofix.bench.scenarios import SCENARIOS

    _, results, text = quick
    repairable = [r for r in results["scenarios"] if r["expected_status"] == "repaired"]
    assert repairable
    for row in results["scenarios"]:
        has_reference = SCENARIOS[row["scenario"]].reference is not None
        assert (row["reference"] is not None) == has_reference, row
        assert row["rebuild_metric"] is None  # the rebuild runs in the full benchmark only
        if row["status"] == "repaired":
            # a proven repair beats the constant baseline, so it recovers something
            assert row["recovery"] is not None and row["recovery"] > 0, row
            assert row["handed_back"] == row["after"]
    summary = results["recovery"]
    assert summary["repairable"] == len(repairable)
    assert summary["measured"] == sum(r["recovery"] is not None for r in repairable)
    assert "| reference | autofix | autofix recovery | rebuild | rebuild recovery |" in text
    assert "reach >= 0.9" in text


def test_quick_benchmark_measures_candidate_throughput(quick):
    _, results, text = quick
    rows = results["throughput"]
    assert rows and all(r["compiled"] and r["trials"] == 3 for r in rows)
    for r in rows:
        assert r["first_seconds"] > 0 and r["later_seconds"] > 0
        assert r["total_seconds"] >= r["first_seconds"] + r["later_seconds"] - 1e-3
        assert r["per_plain_fit"] == round(3 * r["plain_fit_seconds"] / r["total_seconds"], 2)
        # the quick scenarios' models and optimizers stack
        assert r["stacked_per_plain_fit"] == round(3 * r["plain_fit_seconds"] / r["stacked_seconds"], 2)
    assert "## Candidate throughput" in text and "trainings per plain fit" in text


def test_recovery_is_the_share_of_the_reference_gain():
    from autofix.bench.runs import recovery, recovery_summary

    assert recovery(0.9, 0.5, 1.0) == 0.8
    assert recovery(1.1, 0.0, 1.0) == 1.1  # a repair may beat the reference
    assert recovery(0.4, 0.5, 1.0) == 0.0  # below the constant: nothing recovered
    assert recovery(None, 0.5, 1.0) == 0.0 and recovery(float("nan"), 0.5, 1.0) == 0.0
    assert recovery(0.9, 0.5, 0.5) is None  # a reference that learns nothing measures nothing
    assert recovery(0.9, 0.5, None) is None

    def row(name, recovered, fixed, rebuilt, expected="repaired"):
        return {"scenario": name, "expected_status": expected, "recovery": recovered,
                "handed_back": fixed, "rebuild_metric": rebuilt}

    summary = recovery_summary([row("a", 0.95, 0.9, 0.9), row("b", 0.5, 0.6, 0.7),
                                row("c", 0.0, None, 0.8), row("d", 0.99, 0.99, 0.98),
                                row("control", None, 0.5, None, expected="healthy")])
    assert summary["repairable"] == 4 and summary["measured"] == 4
    assert summary["at_least_0_9"] == 2 and summary["median"] == 0.725
    assert (summary["worst"], summary["worst_scenario"]) == (0.0, "c")
    assert summary["below_rebuild"] == ["b", "c"]  # d is within 0.02 of the rebuild
