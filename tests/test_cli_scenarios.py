"""Every scenario through the commands a user runs: the status and findings it should get,
exit codes 0/1 only (never a traceback), strict JSON reports whose numbers are numbers or
null, an HTML page, a fixed model only when repaired, input files left byte-identical."""

import numpy as np
import pytest
from test_first_hour import strict_report
from typer.testing import CliRunner

from autofix.bench.scenarios import SCENARIOS
from autofix.cli import app
from autofix.judge import clear_margin

runner = CliRunner()


@pytest.fixture(scope="module")
def saved(tmp_path_factory, case):
    def save(name):
        c = case(name)
        folder = tmp_path_factory.mktemp(name)
        c.model.save(folder / "model.keras")
        np.savez(folder / "data.npz", x=c.x, y=c.y)
        return folder, c
    return save


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_outcome(name, saved):
    folder, c = saved(name)
    model, data = folder / "model.keras", folder / "data.npz"
    before = (model.read_bytes(), data.read_bytes())
    common = ["--epochs", str(c.epochs), "--batch-size", str(c.batch_size)]

    diagnosed = runner.invoke(app, ["diagnose", str(model), str(data), "--json", *common])
    assert diagnosed.exit_code in (0, 1), diagnosed.output
    assert "Traceback" not in diagnosed.output
    diagnosis = strict_report(diagnosed.stdout)
    assert diagnosis["attempts"] == [] and diagnosis["fix"] is None

    report, page = folder / "report.json", folder / "report.html"
    repaired = runner.invoke(app, ["repair", str(model), str(data), "--quiet", "--report",
                                   str(report), "--html", str(page), *common])
    assert repaired.exit_code in (0, 1), repaired.output
    assert "Traceback" not in repaired.output
    result = strict_report(report.read_text())
    assert repaired.exit_code == (0 if result["status"] in ("repaired", "healthy") else 1)
    assert result["status"] == c.expect_status, (result["findings"], result["attempts"])
    assert set(c.expect_codes) <= {f["code"] for f in result["findings"]}, result["findings"]
    if result["status"] == "repaired":
        assert result["fix"]["strategies"]
        judged = result["fix"]["judged_by"]  # a 20 % hold-out, or every row (small data)
        rows = round(0.2 * len(c.y)) if judged == "held-out rows" else len(c.y)
        assert result["fix"]["metric"] > result["baseline"]["constant"] + clear_margin(rows)
    else:
        assert result["fix"] is None
    if result["status"] == "healthy":
        assert result["attempts"] == []
    assert "<html>" in page.read_text()[:200]
    fixed = folder / "model.fixed.keras"
    assert fixed.exists() == (result["status"] == "repaired")
    assert (model.read_bytes(), data.read_bytes()) == before
