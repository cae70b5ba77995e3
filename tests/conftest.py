"""Test-wide setup: headless Qt, throwaway per-user folders, the corpus location.

The environment is set at import time, before any test module imports Qt.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Test helpers shared across folders (fakehub, tiny_model, openai_stub, tiny_gguf) import by plain name.
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
# The real model lives in the user cache folder: pin its path before XDG_CACHE_HOME is redirected below.
import real_model as _real_model  # noqa: E402

os.environ.setdefault("STUDIO_DEV_MODELS", str(_real_model.fetch_module().default_root()))
real_model = _real_model.real_model  # the session fixture (see tests/fixtures/real_model.py)

# Loading triton's extension (torch._dynamo imports it, so transformers' models do) after QtWebEngine has
# started in the process crashes it (SIGSEGV); loaded first, both work. The eval test runs the checker,
# then the CUDA engine loads a model: load triton now, whatever order the tests run in.
if importlib.util.find_spec("triton") is not None:
    import triton  # noqa: F401

_TMP = Path(tempfile.mkdtemp(prefix="studio-tests-"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
for _var in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
    os.environ[_var] = str(_TMP / _var.lower())
os.environ["HF_HUB_OFFLINE"] = "1"
# No system keyring in tests (the user's is never touched; subprocesses too). keyring discovers backends
# among every KeyringBackend subclass defined so far, test doubles included, so it is fixed here, before
# any test module defines one; tests that need a keyring install their own.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

CORPUS = Path(os.environ.get("STUDIO_CORPUS_DIR", REPO.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """../shared/corpus (or $STUDIO_CORPUS_DIR); tests that need it skip where it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"the answer corpus is not at {CORPUS} (set STUDIO_CORPUS_DIR)")
    return CORPUS


@pytest.fixture(autouse=True)
def own_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own cache folder: a system-prompt state saved by one test never speeds up another."""
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
