"""``artifacts-studio models [--json] [--all]``: the model catalog, what fits here, what is installed.

Offline: installed models are found in the local Hugging Face cache (``huggingface_hub.scan_cache_dir``,
honouring ``HF_HOME`` / ``HF_HUB_CACHE``); a missing cache means none installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from fnmatch import fnmatch

from studio.engine import catalog
from studio.engine.catalog import Entry
from studio.engine.llamacpp_catalog import has_cuda, has_metal
from studio.engine.sysinfo import Memory, memory


def available_engines() -> list[str]:
    """Catalog engines that can run here: registered and their library installed (mlx: mlx_lm;
    llamacpp: llama_cpp; cuda: registered and an NVIDIA driver present)."""
    from studio.engine.registry import available

    registered = set(available())
    out = []
    for engine in catalog.ENGINES:
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


def cached_files() -> dict[str, set[str]]:
    """Repo id -> file names present in any cached revision of the local Hugging Face cache."""
    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir()
    except Exception:  # no cache folder (CacheNotFound), unreadable cache, hub missing
        return {}
    out: dict[str, set[str]] = {}
    for repo in info.repos:
        if repo.repo_type != "model":
            continue
        names = out.setdefault(repo.repo_id, set())
        for rev in repo.revisions:
            names.update(f.file_name for f in rev.files)
    return out


def is_installed(entry: Entry, cache: dict[str, set[str]]) -> bool:
    """The repo is cached with weights: the GGUF pattern matched (every quant shares one repo), or
    any ``.safetensors`` file for MLX / bf16 repos."""
    files = cache.get(entry.repo)
    if not files:
        return False
    if entry.pattern:
        return any(fnmatch(name, entry.pattern) for name in files)
    return any(name.endswith(".safetensors") for name in files)


def _row(entry: Entry, mem: Memory | None, cache: dict[str, set[str]]) -> dict[str, object]:
    return {
        "id": entry.id,
        "engine": catalog.engine_note(entry.engine),
        "size": entry.size,
        "repo": entry.repo,
        "quantization": entry.quantization,
        "download_gb": entry.download_gb,
        "memory_gb": entry.memory_gb,
        "context_length": entry.context_length,
        "context_length_yarn": entry.context_length_yarn,
        "licence": entry.licence,
        "default": entry.default,
        "fit": catalog.fit(entry, mem) if mem else None,
        "installed": is_installed(entry, cache),
    }


def report(show_all: bool = False) -> dict[str, object]:
    """Everything ``models`` prints, as one JSON-ready object."""
    try:
        mem: Memory | None = memory()
    except OSError:
        mem = None
    here = available_engines()
    engines = list(catalog.ENGINES) if show_all else here
    cache = cached_files()
    rows = [_row(e, mem, cache) for e in catalog.catalog() if e.engine in engines]
    recommended = {eng: catalog.recommend(eng, mem).id for eng in engines} if mem else {}
    return {
        "memory": None
        if mem is None
        else {
            "total_gb": round(mem.total_gb, 2),
            "available_gb": None if mem.available_gb is None else round(mem.available_gb, 2),
            "usable_gb": round(mem.usable_gb, 2),
            "unified": mem.unified,
        },
        "metal": has_metal(),
        "engines_available": here,
        "engines_shown": engines,
        "recommended": recommended,
        "models": rows,
    }


def _table(data: dict[str, object]) -> str:
    lines = []
    mem = data["memory"]
    if isinstance(mem, dict):
        kind = "unified memory" if mem["unified"] else "RAM"
        lines.append(
            f"This machine: {mem['total_gb']:.1f} GB {kind}, about {mem['usable_gb']:.1f} GB usable "
            "for a model."
        )
    else:
        lines.append("This machine's memory could not be read: no fit check.")
    shown = data["engines_shown"]
    if not shown:
        lines.append(
            "No engine is installed here (mlx needs mlx-lm; llama.cpp: pip install "
            "'artifacts-studio[llamacpp]'). `models --all` lists every engine's models."
        )
        return "\n".join(lines)
    recommended = data["recommended"]
    assert isinstance(recommended, dict)
    head = ("model", "engine", "quant", "download", "memory", "fit", "licence", "installed")
    body = []
    for r in data["models"]:  # type: ignore[attr-defined]
        mark = " *" if recommended.get(r["engine"].split(" ")[0]) == r["id"] else ""
        body.append(
            (
                f"Qwen2.5-Coder-{r['size']}-Instruct{mark}",
                r["engine"],
                r["quantization"],
                f"{r['download_gb']:.1f} GB",
                f"{r['memory_gb']:.1f} GB",
                r["fit"] or "?",
                r["licence"],
                "yes" if r["installed"] else "",
            )
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]
    for row in (head, *body):
        lines.append("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)).rstrip())
    for eng, rid in recommended.items():
        entry = catalog.find(rid)
        if entry:
            lines.append(f"Recommended for {catalog.engine_note(eng)}: {entry.label} ({entry.repo}) *")
    if any(r["licence"] != catalog.APACHE for r in data["models"]):  # type: ignore[attr-defined]
        lines.append(
            "Note: the 3B is under the Qwen Research License (not Apache-2.0): research / non-commercial use."
        )
    return "\n".join(lines)


def models_main(args: argparse.Namespace) -> int:
    data = report(show_all=getattr(args, "all", False))
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2))
    else:
        print(_table(data))
    sys.stdout.flush()
    return 0


__all__ = ["available_engines", "cached_files", "is_installed", "models_main", "report"]
