"""``artifacts-studio models``: the model catalog, what fits here, what is installed; pull and add models.

- ``models [--json] [--all]``: the catalog, fit and installed state, and the model folders added here.
  Offline: installed models are found in the local Hugging Face cache (``huggingface_hub.scan_cache_dir``,
  honouring ``HF_HOME`` / ``HF_HUB_CACHE``); a missing cache means none installed.
- ``models pull ID``: download a catalog model (``mlx:7B:4bit``), a size (``7B``: the default form for
  the best engine here) or any repo id, with progress; Ctrl+C cancels and a rerun resumes.
- ``models add PATH`` / ``models remove PATH``: remember (after checking) or forget a model folder.

What ``pull ID`` means is :func:`studio.models.pull.resolve_pull`; the HF cache is read by
:mod:`studio.models.hfcache`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from fnmatch import fnmatch
from typing import Any

from studio.cli.common import EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_FAIL, EXIT_OK
from studio.models import catalog
from studio.models.catalog import Entry
from studio.models.hfcache import cached_files, is_installed
from studio.models.pull import resolve_pull
from studio.models.sysinfo import Memory, has_metal, memory


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
    from studio.models.registry import available_engines

    here = available_engines()
    engines = list(catalog.ENGINES) if show_all else here
    cache = cached_files()
    rows = [_row(e, mem, cache) for e in catalog.catalog() if e.engine in engines]
    recommended = {eng: catalog.recommend(eng, mem).id for eng in engines} if mem else {}
    from studio.models.localmodels import list_models

    return {
        "local": [m.to_dict() for m in list_models(include_missing=True)],
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
    lines += _local_lines(data.get("local"))
    return "\n".join(lines)


def _local_lines(local: object) -> list[str]:
    if not isinstance(local, list) or not local:
        return ["Model folders added here: none (`models add PATH` adds one)."]
    lines = ["Model folders added here:"]
    for m in local:
        gone = "" if m["available"] else "  (missing: the folder is gone)"
        engines = ", ".join(m["engines"])
        lines.append(
            f"  {m['name']}  {m['format']}  {engines}  {m['size_bytes'] / 1e9:.2f} GB  {m['path']}{gone}"
        )
    return lines


def models_main(args: argparse.Namespace) -> int:
    """Dispatch ``models`` and its sub-commands; returns the exit code."""
    action = getattr(args, "models_command", None)
    if action == "pull":
        return pull_main(args)
    if action == "add":
        return _add_main(args)
    if action == "remove":
        return _remove_main(args)
    data = report(show_all=getattr(args, "all", False))
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2))
    else:
        print(_table(data))
    sys.stdout.flush()
    return EXIT_OK


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
    from studio.engine.base import CancelToken
    from studio.models import download as dl

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
        return EXIT_BAD_INPUT
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


# -- add / remove ---------------------------------------------------------------------------------


def _add_main(args: argparse.Namespace) -> int:
    from studio.engine.base import ModelLoadError
    from studio.models.localmodels import add_model

    try:
        model = add_model(args.path)
    except ModelLoadError as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc)}))
        print(f"Not added: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps({"ok": True, "model": model.to_dict()}, indent=2))
    else:
        engines = ", ".join(model.engines)
        print(
            f"Added {model.name} ({model.format}, {model.size_bytes / 1e9:.2f} GB; loads in: {engines}): {model.path}"
        )
    return EXIT_OK


def _remove_main(args: argparse.Namespace) -> int:
    from studio.models.localmodels import remove_model

    if remove_model(args.path):
        print(f"Removed {args.path} from the list (the files stay where they are).")
        return EXIT_OK
    print(f"{args.path} is not in the list of added models.", file=sys.stderr)
    return EXIT_FAIL


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``models`` (with ``pull``, ``add``, ``remove``) to the command line's sub-parsers."""
    mod = sub.add_parser(
        "models",
        help="the model catalog (size, memory, fit here, licence, installed); pull, add, remove models",
        description="Without a sub-command: the catalog, what fits here and what is installed.",
    )
    mod.add_argument("--json", action="store_true", help="print JSON")
    mod.add_argument("--all", action="store_true", help="every engine's models, not only those usable here")
    acts = mod.add_subparsers(dest="models_command", metavar="ACTION")
    pull = acts.add_parser(
        "pull",
        help="download a model with progress (Ctrl+C cancels; a rerun resumes)",
        description="Download a model into the Hugging Face cache. ID is a catalog id (mlx:7B:4bit), a size "
        "(7B: the default form for the best engine here) or a Hugging Face repo id (owner/name).",
    )
    pull.add_argument("id", metavar="ID", help="catalog id, size, or repo id")
    pull.add_argument("--engine", default=None, help="mlx, llamacpp or cuda (with a size)")
    pull.add_argument("--quant", default=None, help="quantization: 4bit, 8bit, q4_k_m, q8_0, nf4, bf16")
    pull.add_argument(
        "--pattern", default=None, metavar="GLOB", help="with a repo id: only the matching files"
    )
    pull.add_argument("--revision", default=None, help=argparse.SUPPRESS)
    pull.add_argument("--endpoint", default=None, help=argparse.SUPPRESS)  # tests, mirrors: also $HF_ENDPOINT
    pull.add_argument("--cache-dir", default=None, help=argparse.SUPPRESS)
    pull.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON lines on stdout")
    add = acts.add_parser("add", help="check a model folder (or .gguf file) and add it to the list")
    add.add_argument("path", metavar="PATH")
    add.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    rem = acts.add_parser("remove", help="forget an added model folder (the files stay)")
    rem.add_argument("path", metavar="PATH")
    return mod


__all__ = ["add_parser", "models_main", "pull_main", "report"]
