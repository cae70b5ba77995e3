"""When Chromium's OS sandbox is off (as root), the window says so in the window, not only in a log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QLabel

from studio.app import show_sandbox_notice

WEBGL = """<!doctype html><canvas id="c"></canvas><script>
const g = document.getElementById("c").getContext("webgl");
console.log(g ? "webgl ok" : "webgl missing");
</script>"""


def _notices(window) -> list[str]:  # type: ignore[no-untyped-def]
    return [label.text() for label in window.chat.findChildren(QLabel) if label.objectName() == "noticeError"]


def test_the_window_shows_the_sandbox_is_off(qtbot, model_window) -> None:
    window = model_window()
    assert show_sandbox_notice(window, "--disable-gpu") is False
    assert not any("sandbox" in t for t in _notices(window))
    assert show_sandbox_notice(window, "--no-sandbox --disable-gpu") is True
    shown = [t for t in _notices(window) if "OS sandbox is off" in t]
    assert shown and "root" in shown[0]


def test_check_draws_webgl_without_the_unsafe_flag(tmp_path: Path) -> None:
    """`check` runs software WebGL (no --enable-unsafe-swiftshader): a WebGL page still gets a context."""
    page = tmp_path / "gl.html"
    page.write_text(WEBGL)
    proc = subprocess.run(
        [sys.executable, "-m", "studio", "check", str(page), "--json", "--wait-ms", "300"],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "QTWEBENGINE_CHROMIUM_FLAGS"},
    )
    report = json.loads(proc.stdout)
    assert [e["message"] for e in report["console"]] == ["webgl ok"], report
