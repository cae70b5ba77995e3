"""What ``models pull ID`` downloads: a catalog entry, or a repo id outside the catalog.

ID is a catalog id (``mlx:7B:4bit``), a size (``7B``: the default form for the best engine here) or
any repo id. The command itself (progress, Ctrl+C) is :mod:`studio.cli.models`.
"""

from __future__ import annotations

from studio.models import catalog
from studio.models.catalog import Entry
from studio.models.sysinfo import preferred_engine


def best_engine(here: list[str] | None = None) -> str | None:
    """The engine a bare size downloads for: the preferred one (:func:`sysinfo.preferred_engine`)
    among those installed here, or None when none is."""
    from studio.models.registry import available_engines

    here = available_engines() if here is None else here
    return preferred_engine(set(here)) if here else None


def resolve_pull(model_id: str, engine: str | None = None, quant: str | None = None) -> Entry | str:
    """What ``models pull ID`` downloads: a catalog entry, or a repo id outside the catalog.

    Raises:
        ValueError: the id, engine or quantization is unknown (one sentence).
    """
    from studio.engine.modelcheck import looks_like_repo_id

    if engine is not None and engine not in catalog.ENGINES:
        raise ValueError(f"unknown engine {engine!r}; known: {', '.join(catalog.ENGINES)}")
    if model_id.count(":") == 2:
        entry = catalog.find(model_id)
        if entry is None:
            raise ValueError(f"no catalog model {model_id!r} (`models --all` lists them)")
        return entry
    size = next((s for s in catalog.ARCH if s.lower() == model_id.lower()), None)
    if size is not None:
        engine = engine or best_engine()
        if engine is None:
            raise ValueError("no engine is installed here: name one with --engine, or pull a catalog id")
        forms = [e for e in catalog.entries_for(engine) if e.size == size]
        pick = [e for e in forms if e.quantization == quant] if quant else [e for e in forms if e.default]
        if not pick:
            known = ", ".join(e.quantization for e in forms)
            raise ValueError(f"no {quant} form of {size} for {engine}; known: {known}")
        return pick[0]
    if looks_like_repo_id(model_id):
        same = [e for e in catalog.catalog() if e.repo == model_id and (engine is None or e.engine == engine)]
        same = [e for e in same if e.quantization == quant] if quant else [e for e in same if e.default]
        if same and (same[0].pattern or quant or len(same) == 1):
            return same[0]  # a catalog repo: fetch only its files (one GGUF quantization, not all)
        return model_id
    raise ValueError(f"{model_id!r} is not a catalog id (mlx:7B:4bit), a size (7B) or a repo id (owner/name)")


__all__ = ["best_engine", "resolve_pull"]
