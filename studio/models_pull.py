"""``artifacts-studio models pull ID``: resolve what to download and fetch it with progress.

ID is a catalog id (``mlx:7B:4bit``), a size (``7B``: the default form for the best engine here) or
any repo id. Progress goes to stderr (or JSON lines on stdout with ``--json``); Ctrl+C cancels and a
rerun resumes. :mod:`studio.models_cmd` parses the command line and dispatches here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from fnmatch import fnmatch
from typing import Any

from studio.engine import catalog
from studio.engine.catalog import Entry
from studio.engine.sysinfo import memory

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


def best_engine(here: list[str] | None = None) -> str | None:
    """The engine a bare size downloads for: MLX on Apple Silicon, else llama.cpp, CUDA, MLX (installed)."""
    from studio.engine.sysinfo import is_apple_silicon
    from studio.models_cmd import available_engines  # it imports this module

    here = available_engines() if here is None else here
    order = ("mlx", "llamacpp", "cuda") if is_apple_silicon() else ("llamacpp", "cuda", "mlx")
    return next((e for e in order if e in here), None)


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


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB" if n < 1e9 else f"{n / 1e9:,.2f} GB"


def _eta(s: float | None) -> str:
    if s is None:
        return "time left: ?"
    if s < 90:
        return f"{s:.0f} s left"
    if s < 5400:
        return f"{s / 60:.0f} min left"
    return f"{s / 3600:.1f} h left"


def _progress_printer(as_json: bool) -> Any:
    def show(p: Any) -> None:
        if as_json:
            row = {
                "event": "progress",
                "done_bytes": p.done_bytes,
                "total_bytes": p.total_bytes,
                "speed_bps": round(p.speed_bps, 1),
                "eta_s": None if p.eta_s is None else round(p.eta_s, 1),
                "file": p.file,
                "files_done": p.files_done,
                "files_total": p.files_total,
            }
            print(json.dumps(row), flush=True)
            return
        line = (
            f"\r{_mb(p.done_bytes)} / {_mb(p.total_bytes)}  {p.fraction * 100:5.1f}%  "
            f"{p.speed_bps / 1e6:.1f} MB/s  {_eta(p.eta_s)}  {p.file or ''}"
        )
        sys.stderr.write(line[:118].ljust(118))
        sys.stderr.flush()

    return show


def pull_main(args: argparse.Namespace) -> int:
    """``models pull ID``: 0 downloaded, 1 failed, 2 bad input, 130 cancelled."""
    from studio.engine import download as dl
    from studio.engine.base import CancelToken

    as_json = bool(getattr(args, "json", False))

    def say(event: str, message: str, **extra: object) -> None:
        if as_json:
            print(json.dumps({"event": event, "message": message, **extra}), flush=True)
        if not as_json or event in ("error", "cancelled"):
            print(message, file=sys.stderr, flush=True)

    try:
        target = resolve_pull(args.id, args.engine, args.quant)
    except ValueError as exc:
        say("error", f"Nothing to pull: {exc}.")
        return EXIT_USAGE
    endpoint = args.endpoint or os.environ.get("HF_ENDPOINT") or None
    cache_dir = args.cache_dir
    repo, pattern = (target.repo, target.pattern) if isinstance(target, Entry) else (target, args.pattern)
    if isinstance(target, Entry):
        try:
            warning = catalog.fit_warning(target, memory())
        except OSError:
            warning = None
        if warning:
            say("warning", f"Warning: {warning}")
        say(
            "start",
            f"Pulling {target.label} ({repo}{', ' + pattern if pattern else ''}).",
            id=target.id,
            repo=repo,
        )
    else:
        say("start", f"Pulling {repo}.", repo=repo)
    cancel = CancelToken()
    show = _progress_printer(as_json)
    kwargs: dict[str, Any] = dict(
        pattern=pattern,
        revision=args.revision,
        endpoint=endpoint,
        cache_dir=cache_dir,
        token=os.environ.get("HF_TOKEN") or None,
        progress=show,
        cancel=cancel,
    )
    try:
        path = dl.run_cancellable(lambda: dl.download(repo, **kwargs), cancel)
    except dl.DownloadCancelled:
        if not as_json:
            sys.stderr.write("\n")
        say(
            "cancelled",
            f"Cancelled: the files fetched so far are kept; run `models pull {args.id}` again to resume.",
        )
        return EXIT_CANCELLED
    except dl.DownloadError as exc:
        if not as_json:
            sys.stderr.write("\n")
        say("error", str(exc))
        return EXIT_FAIL
    if not as_json:
        sys.stderr.write("\n")
    if pattern:
        files = sorted(p for p in path.iterdir() if fnmatch(p.name, pattern))
        path = files[0] if files else path
    say("done", f"Downloaded to {path}", path=str(path))
    if not as_json:
        print(path)
    return EXIT_OK


__all__ = [
    "EXIT_CANCELLED",
    "EXIT_FAIL",
    "EXIT_OK",
    "EXIT_USAGE",
    "best_engine",
    "pull_main",
    "resolve_pull",
]
