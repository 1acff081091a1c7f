"""The self-contained HTML report renders, with its images embedded (and in Chromium)."""

import base64
import re
import shutil
import subprocess

import numpy as np
import pytest
from typer.testing import CliRunner

import autofix
from autofix.cli import app
from autofix.html_report import render

IMG = re.compile(r"<img alt='([^']+)' src='data:image/png;base64,([A-Za-z0-9+/=]+)'>")


@pytest.fixture(scope="module")
def page(case):
    c = case("relu_output_signed_targets")
    result = autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size)
    return render(result)


def test_page_embeds_its_figures(page):
    images = IMG.findall(page)
    assert {name for name, _ in images} == {"loss curves", "prediction distributions"}
    for _, data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "output_activation_mismatch" in page and "repaired with swap_output_activation" in page
    assert "http://" not in page and "https://" not in page  # self-contained


def test_cli_writes_html(case, tmp_path):
    c = case("zero_init")
    c.model.save(tmp_path / "m.keras")
    np.savez(tmp_path / "d.npz", x=c.x, y=c.y)
    result = CliRunner().invoke(app, ["repair", str(tmp_path / "m.keras"), str(tmp_path / "d.npz"),
                                      "--html", str(tmp_path / "r.html"), "--quiet"])
    assert result.exit_code == 0
    assert len(IMG.findall((tmp_path / "r.html").read_text())) == 2


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package "
                    "'chromium'); .ci/run installs it")
def test_page_renders_in_headless_chromium(page, tmp_path):
    html = tmp_path / "report.html"
    probe = page.replace("</body>", """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  document.title = 'loaded:' + imgs.filter(i => i.complete && i.naturalWidth > 0).length + '/' + imgs.length;
});</script></body>""")
    html.write_text(probe)
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000", "--dump-dom",
         html.as_uri()], capture_output=True, text=True, timeout=120)
    assert "<title>loaded:2/2</title>" in proc.stdout, proc.stderr[-2000:]
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile2'}", f"--screenshot={shot}",
                    "--window-size=1200,1400", html.as_uri()], capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000
