"""The quick benchmark in CI: a repair that stops working fails here (timings never do)."""

import json

from benchmarks.run import main


def test_quick_benchmark_repairs_what_it_should(tmp_path):
    assert main(["--quick", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["scenarios"] and all(row["passed"] for row in results["scenarios"])
    assert {row["status"] for row in results["scenarios"]} == {"repaired", "unrepairable", "healthy"}
    assert (tmp_path / "RESULTS.md").read_text().startswith("# autofix benchmark")
