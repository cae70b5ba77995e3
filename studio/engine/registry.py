"""Engine name -> engine class, found through the ``studio.engines`` entry-point group.

The built-in engines are registered the same way in pyproject.toml, so a third party adds one by
installing a package. Running from a source tree without installing still finds the built-ins.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points
from pathlib import Path

from studio.engine.base import Engine, EngineError

log = logging.getLogger("studio.engine")

BUILTIN = {"mlx": "studio.engine.mlx:MLXEngine", "llamacpp": "studio.engine.llamacpp:LlamaCppEngine"}


def available() -> dict[str, str]:
    """Every known engine name with its ``module:Class`` target."""
    found = dict(BUILTIN)
    for ep in entry_points(group="studio.engines"):
        found[ep.name] = ep.value
    return found


def _model_format(model: str | None) -> str | None:
    """"gguf" or "safetensors" for a local model path; None when it cannot be told."""
    if not model:
        return None
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf":
        return "gguf"
    if path.is_dir():
        if (path / "config.json").exists() or any(path.glob("*.safetensors")):
            return "safetensors"  # a Hugging Face / MLX folder
        if any(path.glob("*.gguf")):
            return "gguf"
    return None


def resolve(name: str, model: str | None = None) -> str:
    """``"auto"`` picks the engine: by the model's format when it tells (GGUF -> llama.cpp,
    safetensors -> mlx), else the best for this machine (MLX on Metal, CUDA, else llama.cpp if installed).
    """
    if name != "auto":
        return name
    engines = set(available())
    fmt = _model_format(model)
    if fmt == "gguf" and "llamacpp" in engines:
        return "llamacpp"
    if fmt == "safetensors" and "mlx" in engines:
        return "mlx"
    from studio.engine.llamacpp_catalog import preferred_engine

    return preferred_engine(engines)


def create_engine(name: str, model: str | None = None) -> Engine:
    """Instantiate the engine called ``name`` (``"auto"`` picks one for this machine).

    Raises:
        EngineError: unknown name, or the engine's dependencies are not installed.
    """
    engines = available()
    name = resolve(name, model)
    target = engines.get(name)
    if target is None:
        raise EngineError(f"unknown engine {name!r}; available: {', '.join(sorted(engines))}")
    module_name, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except ImportError as exc:
        raise EngineError(f"the {name} engine cannot start: {exc.name or exc} is not installed") from None
    engine: Engine = cls()
    return engine
