"""Fixtures for the llama.cpp engine tests: the tiny Qwen2 models of conftest.py, converted to GGUF.

Imported by test_llamacpp.py (``from llamacpp_fixtures import *``-style explicit imports); the
conversion runs once per session and lands next to the models (under $STUDIO_TEST_MODELS if set).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None
HAVE_GGUF = importlib.util.find_spec("gguf") is not None
needs_llama = pytest.mark.skipif(
    not (HAVE_LLAMA and HAVE_GGUF),
    reason="llama-cpp-python / gguf not installed: pip install 'artifacts-studio[llamacpp]' gguf",
)


def gguf_of(folder: Path, file_type: str = "f16") -> Path:
    """``folder`` converted to GGUF (once), written beside it as ``<folder>-<type>.gguf``."""
    import tiny_gguf as converter  # needs gguf (optional); the fixture below shares the name

    out = folder.parent / f"{folder.name}-{file_type}.gguf"
    if not out.is_file():
        converter.convert(folder, out, file_type=file_type)
    return out


@pytest.fixture(scope="session")
def tiny_gguf(tiny_model_path: Path) -> Path:
    """The tiny Qwen2 model as an F16 GGUF file."""
    return gguf_of(tiny_model_path, "f16")


@pytest.fixture(scope="session")
def eos_gguf(eos_model_path: Path) -> Path:
    """The tiny model that answers <|im_end|> at once, as GGUF."""
    return gguf_of(eos_model_path, "f16")


@pytest.fixture
def llama(tiny_gguf: Path) -> Iterator[object]:
    """A LlamaCppEngine with the tiny GGUF loaded (small context); closed after the test."""
    from studio.engine.llamacpp import LlamaCppEngine

    eng = LlamaCppEngine(n_ctx=1024)
    eng.load(str(tiny_gguf))
    yield eng
    eng.close()
