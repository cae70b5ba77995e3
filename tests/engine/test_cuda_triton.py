"""The CUDA engine beside a running web view: triton loaded after QtWebEngine kills the process.

Each case runs in a fresh interpreter (the test session loads triton first, see tests/conftest.py):
the web view starts (a page is checked), then the CUDA engine loads a model.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton is not installed"),
]

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from pathlib import Path
mode, model, page = sys.argv[1], sys.argv[2], Path(sys.argv[3])
if mode == "preloaded":
    from studio.app import preload_for_engine
    preload_for_engine("cuda")
from studio.web.checker import check_file
check_file(page)
print("web view ran", flush=True)
if mode == "raw":
    import triton  # what transformers' models load, without the engine's guard
    print("loaded", flush=True)
    sys.exit(0)
from studio.engine.base import ModelLoadError
from studio.engine.cuda import CudaEngine
eng = CudaEngine(device="cpu")
try:
    eng.load(model)
    print("loaded", flush=True)
except ModelLoadError as exc:
    print("refused:", exc, flush=True)
finally:
    eng.close()
"""


def run(mode: str, model: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    page = tmp_path / "page.html"
    page.write_text("<h1>hello</h1>", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, str(model), str(page)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=REPO,
    )


def test_loading_after_the_web_view_is_refused_with_a_message_not_a_crash(
    tiny_model_path: Path, tmp_path: Path
) -> None:
    # the control: what the guard prevents (triton loaded after the web view) ends the process
    raw = run("raw", tiny_model_path, tmp_path)
    assert "web view ran" in raw.stdout
    if raw.returncode == 0:
        pytest.skip("this triton survives being loaded after QtWebEngine: nothing to guard")
    guarded = run("guarded", tiny_model_path, tmp_path)
    assert guarded.returncode == 0, guarded.stderr[-2000:]
    assert "refused: the CUDA engine cannot start in this window" in guarded.stdout


def test_the_app_preloads_triton_when_cuda_is_chosen(tiny_model_path: Path, tmp_path: Path) -> None:
    done = run("preloaded", tiny_model_path, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "loaded" in done.stdout.splitlines()
