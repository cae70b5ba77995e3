"""The window's first frame imports no engine library: the model loads once the window is up.

The app, started with a real (tiny) MLX model to load, lists the top-level modules imported when its
first frame is painted and again once the model has loaded (STUDIO_MEASURE_STARTUP=modules).
Deterministic: it compares module names, never timings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_model import build_tiny_model

# What the first frame must not wait for (issue: engines, huggingface_hub, numpy and mlx load later;
# the chat's markdown and the source editor's highlighter load when first used).
LATE = {
    "numpy",
    "mlx",
    "mlx_lm",
    "huggingface_hub",
    "transformers",
    "tokenizers",
    "llama_cpp",
    "torch",
    "httpx2",
    "markdown_it",  # with the first chat message
    "pygments",  # with the first message or the Source tab
}

pytestmark = pytest.mark.slow


def _modules(stdout: str, tag: str) -> set[str]:
    (line,) = [ln for ln in stdout.splitlines() if ln.startswith(tag + " ")]
    return set(line.split(" ", 1)[1].split(","))


def test_the_first_frame_comes_before_the_engine_libraries(tmp_path: Path) -> None:
    pytest.importorskip("mlx_lm")
    model = build_tiny_model(tmp_path / "tiny")
    env = dict(os.environ, STUDIO_MEASURE_STARTUP="modules", HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "studio", "--model", str(model), "--engine", "mlx"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "exposed=True" in out.stdout
    first = _modules(out.stdout, "STUDIO_MODULES")
    loaded = _modules(out.stdout, "STUDIO_MODULES_LOADED")
    assert first & LATE == set()
    assert {"PySide6", "studio"} <= first
    assert {"numpy", "mlx", "mlx_lm"} <= loaded  # the model did load, after the first frame


def test_the_window_start_skips_the_other_commands_modules() -> None:
    code = (
        "import sys; from studio.cli import build_parser; build_parser(gui_only=True);"
        "print(sorted(m for m in sys.modules if m.startswith('studio.cli.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "['studio.cli.common']"
