"""Engine test fixtures: tiny real Qwen2 models built once per session (cached by content).

Set STUDIO_TEST_MODELS to a folder to keep the built models between sessions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import tiny_model

from studio.engine.mlx import MLXEngine


@pytest.fixture(scope="session")
def tiny_builder() -> ModuleType:
    """The tests/fixtures/tiny_model.py module (build_tiny_model, cached_tiny_model, PRESETS)."""
    return tiny_model


@pytest.fixture(scope="session")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where tiny models are built: $STUDIO_TEST_MODELS or a session temp folder."""
    root = os.environ.get("STUDIO_TEST_MODELS")
    return Path(root) if root else tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_model_path(models_root: Path) -> Path:
    """A tiny real Qwen2 model folder (random weights, trained BPE tokenizer, ChatML template)."""
    return tiny_model.cached_tiny_model(models_root)


@pytest.fixture(scope="session")
def eos_model_path(models_root: Path) -> Path:
    """A tiny model whose greedy answer is <|im_end|> at once (for the "stop" path)."""
    return tiny_model.cached_tiny_model(models_root, eos_biased=True)


@pytest.fixture
def engine(tiny_model_path: Path) -> Iterator[MLXEngine]:
    """An MLX engine with the tiny model loaded; closed after the test."""
    eng = MLXEngine()
    eng.load(str(tiny_model_path))
    yield eng
    eng.close()
