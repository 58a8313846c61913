"""Open the written report in a real headless Chromium: the embedded PNGs decode, the tables
render, and nothing is fetched from outside."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from colt.report import write_report
from tests.report.test_report import make_grid, make_run

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
# Appended to a copy of the report: after load, write what the browser made of it into the DOM.
PROBE = """<script>window.addEventListener("load", () => {
  const probe = document.createElement("pre");
  probe.id = "colt-probe";
  probe.textContent = JSON.stringify({
    images: [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight]),
    tables: [...document.querySelectorAll("table")].map(t => t.rows.length),
    captions: [...document.querySelectorAll("caption")].map(c => c.textContent),
    resources: performance.getEntriesByType("resource").map(r => r.name)});
  document.body.appendChild(probe);
});</script></body>"""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium)"
)


def chromium(tmp_path: Path, *args: str) -> str:
    profile = tmp_path / "chromium-profile"
    result = subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def probe(html_path: Path, tmp_path: Path) -> dict[str, Any]:
    probed = tmp_path / "probed.html"
    probed.write_text(html_path.read_text().replace("</body>", PROBE))
    dom = chromium(tmp_path, "--dump-dom", probed.as_uri())
    found = re.search(r'<pre id="colt-probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe did not run: " + dom[-500:]
    return json.loads(
        found.group(1)
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
    )


def test_grid_report_renders_in_chromium(tmp_path: Path) -> None:
    report = write_report(make_grid(tmp_path / "grid"))
    seen = probe(report, tmp_path)
    assert len(seen["images"]) == 2
    for complete, width, height in seen["images"]:
        assert complete and width > 300 and height > 200  # the PNG decoded
    assert any(caption.startswith("Table 1.") for caption in seen["captions"])
    assert sum(caption.startswith("Table 2.") for caption in seen["captions"]) == 2
    assert all(rows >= 2 for rows in seen["tables"])  # header and at least one row
    assert seen["resources"] == []  # self-contained: nothing loaded from anywhere


def test_a_broken_image_is_detected(tmp_path: Path) -> None:
    """The probe itself works: a corrupted data URI does not decode."""
    report = write_report(make_run(tmp_path / "run", model_calls={"smollm2-135m": (3, 0)}))
    broken = tmp_path / "broken" / "report.html"
    broken.parent.mkdir()
    text = re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,AAAA", report.read_text(), count=1)
    broken.write_text(text)
    widths = [width for _, width, _ in probe(broken, tmp_path)["images"]]
    assert widths[0] == 0 and all(width > 0 for width in widths[1:])


def test_screenshot_of_a_run_report_is_not_blank(tmp_path: Path) -> None:
    run_dir = make_run(
        tmp_path / "run", model_calls={"smollm2-135m": (8, 0), "gemma3-270m": (4, 1)}, tree=True
    )
    report = write_report(run_dir)
    shot = tmp_path / "shot.png"
    chromium(
        tmp_path,
        "--hide-scrollbars",
        "--window-size=1200,1600",
        f"--screenshot={shot}",
        report.as_uri(),
    )
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (1600, 1200)
    assert pixels.std() > 0.05  # text, tables and figures, not an empty page
