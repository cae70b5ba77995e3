"""WebGL in the window on a machine without a GPU: the app adds the software fallback itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.web.webgl import SOFTWARE_WEBGL_FLAG, has_gpu, with_software_webgl

REPO = Path(__file__).resolve().parents[2]


def test_the_flag_is_added_only_without_a_gpu_and_never_over_the_users_choice() -> None:
    assert with_software_webgl("--no-sandbox", {}, gpu=False) == f"--no-sandbox {SOFTWARE_WEBGL_FLAG}"
    assert with_software_webgl("--no-sandbox", {}, gpu=True) == "--no-sandbox"
    assert with_software_webgl("", {"QT_QPA_PLATFORM": "offscreen"}, gpu=True) == SOFTWARE_WEBGL_FLAG
    for chosen in ("--disable-gpu", "--use-gl=desktop", "--use-angle=vulkan"):
        assert with_software_webgl(chosen, {}, gpu=False) == chosen
    assert with_software_webgl("", {"STUDIO_SOFTWARE_WEBGL": "0"}, gpu=False) == ""
    assert with_software_webgl("", {"STUDIO_SOFTWARE_WEBGL": "1"}, gpu=True) == SOFTWARE_WEBGL_FLAG
    assert "unsafe" not in SOFTWARE_WEBGL_FLAG


def test_gpu_detection() -> None:
    assert has_gpu("darwin") and has_gpu("win32")
    assert has_gpu("linux", ["/dev/dri/renderD128"]) and not has_gpu("linux", [])


def _webgl(switch: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(QTWEBENGINE_CHROMIUM_FLAGS="--no-sandbox", STUDIO_SOFTWARE_WEBGL=switch)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.gui.webgl_probe_app"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip().splitlines()[-1]


def test_a_webgl_page_gets_a_context_through_the_apps_own_flags() -> None:
    got = _webgl("1")
    assert got.startswith("WEBGL ") and got != "WEBGL none" and got != "WEBGL timeout", got


@pytest.mark.skipif(has_gpu(), reason="this machine has a GPU: WebGL works without the fallback")
def test_without_the_fallback_there_is_no_webgl_here() -> None:
    assert _webgl("0") == "WEBGL none"
