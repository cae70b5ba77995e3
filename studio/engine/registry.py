"""Engine name -> engine class, found through the ``studio.engines`` entry-point group.

The built-in engines are registered the same way in pyproject.toml, so a third party adds one by
installing a package. Running from a source tree without installing still finds the built-ins.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points

from studio.engine.base import Engine, EngineError

log = logging.getLogger("studio.engine")

BUILTIN = {"mlx": "studio.engine.mlx:MLXEngine"}


def available() -> dict[str, str]:
    """Every known engine name with its ``module:Class`` target."""
    found = dict(BUILTIN)
    for ep in entry_points(group="studio.engines"):
        found[ep.name] = ep.value
    return found


def create_engine(name: str) -> Engine:
    """Instantiate the engine called ``name``.

    Raises:
        EngineError: unknown name, or the engine's dependencies are not installed.
    """
    engines = available()
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
