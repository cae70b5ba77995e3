"""The one scanner of the local Hugging Face cache: which repos and files are there.

``huggingface_hub.scan_cache_dir`` honours ``HF_HOME`` / ``HF_HUB_CACHE``; a missing or unreadable
cache reads as empty (nothing installed).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from studio.models.catalog import Entry


@dataclass(frozen=True, slots=True)
class CachedRevision:
    """One cached snapshot of a model repo: its folder and file name -> path."""

    snapshot: Path
    files: dict[str, Path]


def cached_repos(cache_dir: str | Path | None = None) -> dict[str, list[CachedRevision]]:
    """Model repo id -> its cached revisions, newest first (empty without a cache)."""
    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir(cache_dir)
    except Exception:  # no cache folder (CacheNotFound), unreadable cache, hub missing
        return {}
    out: dict[str, list[CachedRevision]] = {}
    for repo in info.repos:
        if repo.repo_type != "model":
            continue
        revs = sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True)
        out[repo.repo_id] = [
            CachedRevision(r.snapshot_path, {f.file_name: f.file_path for f in r.files}) for r in revs
        ]
    return out


def cached_files(cache_dir: str | Path | None = None) -> dict[str, set[str]]:
    """Repo id -> file names present in any cached revision."""
    return {
        repo: {name for rev in revs for name in rev.files} for repo, revs in cached_repos(cache_dir).items()
    }


def is_installed(entry: Entry, cache: dict[str, set[str]]) -> bool:
    """The repo is cached with weights: the GGUF pattern matched (every quant shares one repo), or
    any ``.safetensors`` file for MLX / bf16 repos."""
    files = cache.get(entry.repo)
    if not files:
        return False
    if entry.pattern:
        return any(fnmatch(name, entry.pattern) for name in files)
    return any(name.endswith(".safetensors") for name in files)


def installed_paths(entries: list[Entry], cache_dir: str | Path | None = None) -> dict[str, str]:
    """Catalog entry id -> its newest cached folder (or GGUF file)."""
    repos = cached_repos(cache_dir)
    out: dict[str, str] = {}
    for e in entries:
        for rev in repos.get(e.repo, []):
            if e.pattern:
                hits = sorted(n for n in rev.files if fnmatch(n, e.pattern))
                if hits:
                    out[e.id] = str(rev.files[hits[0]])
                    break
            elif any(n.endswith(".safetensors") for n in rev.files):
                out[e.id] = str(rev.snapshot)
                break
    return out


__all__ = ["CachedRevision", "cached_files", "cached_repos", "installed_paths", "is_installed"]
