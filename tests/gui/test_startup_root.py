"""Started as root (containers, CI boxes), the window still opens: Chromium needs --no-sandbox there."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from studio.app import chromium_flags


def test_no_sandbox_is_added_only_for_root_and_only_once() -> None:
    assert chromium_flags("--disable-gpu", root=False) == "--disable-gpu"
    assert chromium_flags("--disable-gpu", root=True) == "--disable-gpu --no-sandbox"
    assert chromium_flags("", root=True) == "--no-sandbox"
    assert chromium_flags("--no-sandbox --disable-gpu", root=True) == "--no-sandbox --disable-gpu"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs to run as root")
def test_the_window_opens_as_root_without_the_flag_given(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(
        QTWEBENGINE_CHROMIUM_FLAGS="--disable-gpu",  # no --no-sandbox: the app must add it
        STUDIO_MEASURE_STARTUP="1",
        STUDIO_DATA_DIR=str(tmp_path / "data"),
        STUDIO_CONFIG_DIR=str(tmp_path / "config"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "studio"], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "STUDIO_SHOWN" in proc.stdout
    assert "Running as root without --no-sandbox is not supported" not in proc.stderr
