"""Engine name -> engine class, found through the ``studio.engines`` entry-point group.

The built-in engines are registered the same way in pyproject.toml, so a third party adds one by
installing a package. Running from a source tree without installing still finds the built-ins.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from studio.engine.base import Engine, EngineError

log = logging.getLogger(__name__)

BUILTIN = {
    "mlx": "studio.engine.mlx:MLXEngine",
    "llamacpp": "studio.engine.llamacpp:LlamaCppEngine",
    "cuda": "studio.engine.cuda:CudaEngine",
    "openai": "studio.engine.openai:OpenAIEngine",
}
# The one command that installs what each built-in engine needs.
INSTALL_HINT = {
    "mlx": "pip install mlx-lm",
    "llamacpp": "pip install 'artifacts-studio[llamacpp]'",
    "cuda": "pip install 'artifacts-studio[cuda]'",
    "openai": "pip install keyring",
}


def available() -> dict[str, str]:
    """Every known engine name with its ``module:Class`` target."""
    found = dict(BUILTIN)
    for ep in entry_points(group="studio.engines"):
        found[ep.name] = ep.value
    return found


def available_engines() -> list[str]:
    """Catalog engines that can run here: registered and their library installed (mlx: mlx_lm;
    llamacpp: llama_cpp; cuda: registered and an NVIDIA driver present)."""
    from studio.models.catalog import ENGINES
    from studio.models.sysinfo import has_cuda

    registered = set(available())
    out = []
    for engine in ENGINES:
        if engine not in registered:
            continue
        if engine == "mlx" and importlib.util.find_spec("mlx_lm") is None:
            continue
        if engine == "llamacpp" and importlib.util.find_spec("llama_cpp") is None:
            continue
        if engine == "cuda" and not has_cuda():
            continue
        out.append(engine)
    return out


def _model_format(model: str | None) -> str | None:
    """ "gguf" or "safetensors" for a local model path; None when it cannot be told."""
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
    from studio.models.sysinfo import preferred_engine

    return preferred_engine(engines)


def _takes(cls: type, name: str) -> bool:
    """Whether ``cls``'s constructor names the parameter ``name``."""
    try:
        return name in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def _accepted(cls: type, options: dict[str, Any]) -> dict[str, Any]:
    """The options ``cls``'s constructor takes (all of them when it takes ``**kwargs``); None values dropped."""
    given = {k: v for k, v in options.items() if v is not None}
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return given
    return {k: v for k, v in given.items() if k in params}


def create_engine(name: str, model: str | None = None, **options: Any) -> Engine:
    """Instantiate the engine called ``name`` (``"auto"`` picks one for this machine).

    Args:
        name: an engine name or "auto".
        model: the model to load later (helps "auto" choose).
        **options: engine settings (``base_url``, ``api_key``, ``device``, ...); each engine gets those its
            constructor accepts, and None values are left out (the engine's defaults apply).
            ``prompt_state_dir`` defaults to the per-user cache folder for engines that name it (pass
            None to save no state).

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
        hint = INSTALL_HINT.get(name)
        missing = exc.name or str(exc)
        raise EngineError(
            f"the {name} engine cannot start: {missing} is not installed" + (f" ({hint})" if hint else "")
        ) from None
    if "prompt_state_dir" not in options and _takes(cls, "prompt_state_dir"):
        from studio.store.paths import prompt_state_dir

        options["prompt_state_dir"] = str(prompt_state_dir())
    engine: Engine = cls(**_accepted(cls, options))
    return engine
