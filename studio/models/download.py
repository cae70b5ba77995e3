"""Download a model into the standard Hugging Face cache, with progress, cancel, resume and clear errors.

The plan comes from the hub's model info (``HfApi.model_info(files_metadata=True)``); each file's
metadata from ``get_hf_file_metadata`` (the HEAD call ``hf_hub_download`` makes); the bytes through
huggingface_hub's HTTP session, into the cache layout ``hf_hub_download`` writes
(``models--owner--name/{blobs/<etag>, snapshots/<commit>/<file>, refs/<revision>}``), so
``scan_cache_dir``, ``snapshot_download(local_files_only=True)`` and :func:`modelcheck.resolve_model`
find the files afterwards.

Why not ``hf_hub_download`` itself: in huggingface_hub 2.4.0 it writes to a process-unique temporary
file and deletes it on any failure (``_download_to_tmp_and_move``), so a cancelled download starts over,
and a killed one starts over and leaves its partial file behind for good; and it reads the body in
10 MiB chunks, too coarse for progress and a prompt cancel (a ``tqdm_class`` sees one update per chunk).
``bench/download.py`` measures both paths against a local stand-in hub (throughput, the longest wait
between progress calls, bytes re-fetched after a SIGKILL half-way). Here the partial
file is ``blobs/<etag>.incomplete`` (the name older huggingface_hub versions used) and a rerun resumes
it with an HTTP ``Range`` request. LFS files (ETag = SHA-256) are hashed while they arrive and checked.
Xet is not used: files come over plain HTTP (the hub serves every file that way too). The per-file
transfer (resume, hashing, retries, progress meter, cancel watcher) is in
:mod:`studio.models.download_http`.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.engine.base import CancelToken
from studio.models.download_http import Fetch, Meter, watch_cancel
from studio.models.download_types import (
    GB,
    DownloadCancelled,
    DownloadError,
    DownloadPlan,
    DownloadProgress,
    MiB,
    check_etag,
    check_repo_path,
    host_of,
    inside,
)

if TYPE_CHECKING:
    from studio.models.catalog import Entry

log = logging.getLogger(__name__)

DEFAULT_MARGIN = 512 * MiB
_COMMIT = re.compile(r"^[0-9a-f]{40}$")

# -- errors ---------------------------------------------------------------------------------------


def offline_reason() -> str | None:
    """Why downloads are off (``HF_HUB_OFFLINE`` set), or None."""
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}
    if env or constants.is_offline_mode():
        return (
            "Downloads are switched off because HF_HUB_OFFLINE is set: unset it to download, "
            "or pick a model folder on this computer."
        )
    return None


def _explain(
    exc: BaseException, repo: str, endpoint: str | None, revision: str | None, file: str | None
) -> str:
    """One sentence for a huggingface_hub / network / disk error."""
    import httpx2
    from huggingface_hub import errors

    host = host_of(endpoint)
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return offline_reason() or "Downloads are switched off (offline mode)."
    if isinstance(exc, errors.GatedRepoError):
        return (
            f"{repo} on {host} is gated: accept its licence on the model page, then log in "
            "(set HF_TOKEN) to download it."
        )
    if isinstance(exc, errors.RevisionNotFoundError):
        return f"{repo} on {host} has no revision {revision or 'main'}."
    if isinstance(exc, errors.RemoteEntryNotFoundError):
        return f"{repo} on {host} has no file {file}."
    if isinstance(exc, errors.RepositoryNotFoundError):
        return f"No model {repo} on {host} (check the name; a private model needs a token)."
    if isinstance(exc, errors.HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else "an error"
        if status == 401:
            return f"{host} refused the token for {repo} (401): log in again."
        if status == 403:
            return f"{host} refused access to {repo} (403): your token lacks the permission."
        return f"{host} answered {status} for {repo}: try again later."
    if isinstance(exc, (httpx2.ConnectError, httpx2.TimeoutException, httpx2.NetworkError)):
        return f"Can't reach {host}: check the connection, or pick a model folder on this computer."
    if isinstance(exc, (httpx2.ProtocolError, httpx2.ProxyError)):
        return f"The connection to {host} broke ({exc}): run the download again; it resumes."
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return (
            f"The disk filled up while downloading {file or repo}: free some space and run again; it resumes."
        )
    if isinstance(exc, OSError):
        return f"Can't write the download of {file or repo}: {exc.strerror or exc}."
    return f"Downloading {repo} failed: {exc}"


# -- the plan -------------------------------------------------------------------------------------


def _cache(cache_dir: str | Path | None) -> Path:
    from huggingface_hub import constants

    return Path(cache_dir or constants.HF_HUB_CACHE).expanduser()


def _storage(cache: Path, repo: str) -> Path:
    from huggingface_hub.file_download import repo_folder_name

    return cache / repo_folder_name(repo_id=repo, repo_type="model")


def _present(storage: Path, commit: str, name: str, size: int, etag: str | None) -> int:
    """Bytes of ``name`` already in the cache: the whole file, or a partial blob."""
    if (storage / "snapshots" / commit / name).is_file():
        return size
    if etag:
        blob = storage / "blobs" / etag
        if blob.is_file():
            return size
        part = blob.with_name(etag + ".incomplete")
        if part.is_file():
            return min(size, part.stat().st_size)
    return 0


def plan_download(
    repo: str,
    *,
    pattern: str | None = None,
    revision: str | None = None,
    endpoint: str | None = None,
    cache_dir: str | Path | None = None,
    token: str | None = None,
) -> DownloadPlan:
    """Ask the hub which files a download fetches and how much of it is already in the cache.

    Args:
        repo: "owner/name".
        pattern: an fnmatch pattern (GGUF files); None takes the whole repository.
        revision: branch, tag or commit (default "main").
        endpoint: the hub (default ``HF_ENDPOINT`` or huggingface.co).
        cache_dir: the hub cache (default ``HF_HUB_CACHE``).
        token: an access token for private or gated models.

    Raises:
        DownloadError: offline, unreachable, no such repo / revision, or nothing matches ``pattern``.
    """
    if reason := offline_reason():
        raise DownloadError(reason)
    from huggingface_hub import HfApi

    try:
        info = HfApi(endpoint=endpoint, token=token).model_info(repo, revision=revision, files_metadata=True)
    except Exception as exc:  # every hub / network error becomes one sentence
        raise DownloadError(_explain(exc, repo, endpoint, revision, None)) from None
    commit = info.sha or (revision if revision and _COMMIT.match(revision) else "")
    if not _COMMIT.match(commit):
        raise DownloadError(
            f"{host_of(endpoint)} sent a bad commit id for {repo}: {commit[:80]!r} (not 40 hex digits); "
            "nothing was written."
        )
    check_repo_path(revision or "main", "revision")
    for s in info.siblings or []:
        check_repo_path(s.rfilename)
    siblings = [s for s in info.siblings or [] if pattern is None or fnmatch(s.rfilename, pattern)]
    if not siblings:
        what = f"no file matching {pattern}" if pattern else "no files"
        raise DownloadError(f"{repo} on {host_of(endpoint)} has {what}.")
    storage = _storage(_cache(cache_dir), repo)
    files: list[tuple[str, int]] = []
    etags: list[tuple[str, str]] = []
    present = 0
    for s in sorted(siblings, key=lambda s: s.rfilename):
        size = int(s.size or 0)
        etag = s.lfs.sha256 if s.lfs is not None else s.blob_id
        files.append((s.rfilename, size))
        if etag:
            check_etag(etag, s.rfilename)
            etags.append((s.rfilename, etag))
        present += _present(storage, commit, s.rfilename, size, etag)
    return DownloadPlan(
        repo=repo,
        revision=commit,
        files=tuple(files),
        total_bytes=sum(size for _, size in files),
        present_bytes=present,
        ref=revision or "main",
        etags=tuple(etags),
    )


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def check_disk(
    plan: DownloadPlan, cache_dir: str | Path | None = None, *, margin_bytes: int = DEFAULT_MARGIN
) -> None:
    """Refuse a download that would not fit on the disk of the cache (plus a margin).

    Raises:
        DownloadError: naming the GB needed and the GB free.
    """
    where = _existing_parent(_cache(cache_dir))
    free = shutil.disk_usage(where).free
    if plan.needed_bytes + margin_bytes > free:
        raise DownloadError(
            f"Not enough disk space for {plan.repo}: it needs {plan.needed_bytes / GB:.1f} GB "
            f"(plus {margin_bytes / GB:.1f} GB to spare) and {where} has {free / GB:.1f} GB free."
        )


# -- download -------------------------------------------------------------------------------------


def download(
    repo: str,
    *,
    pattern: str | None = None,
    revision: str | None = None,
    endpoint: str | None = None,
    cache_dir: str | Path | None = None,
    token: str | None = None,
    progress: Callable[[DownloadProgress], None] | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Download a model (or the files matching ``pattern``) into the Hugging Face cache.

    Checks the disk first; resumes partial files; ``cancel`` (set from any thread) stops it within a
    network chunk (well under a second on a live connection). ``progress`` gets ~10 calls a second
    and always a final one at 100%.

    Returns:
        The snapshot folder (``.../snapshots/<commit>``).

    Raises:
        DownloadCancelled: ``cancel`` was set; a rerun resumes.
        DownloadError: any other failure, in one sentence.
    """
    plan = plan_download(
        repo, pattern=pattern, revision=revision, endpoint=endpoint, cache_dir=cache_dir, token=token
    )
    check_disk(plan, cache_dir)

    cache = _cache(cache_dir)
    storage = _storage(cache, repo)
    meter = Meter(plan, progress)
    fetch = Fetch(repo, plan, storage, endpoint, token)
    current: str | None = None
    stop = threading.Event()
    if cancel is not None:  # a silent server would block the read: shut its socket when cancelled
        threading.Thread(
            target=watch_cancel, args=(cancel, stop, fetch), name="download-cancel", daemon=True
        ).start()
    try:
        (storage / "refs").mkdir(parents=True, exist_ok=True)
        if not _COMMIT.match(plan.ref) or plan.ref != plan.revision:
            ref = inside(storage, storage / "refs" / check_repo_path(plan.ref, "revision"))
            ref.parent.mkdir(parents=True, exist_ok=True)
            ref.write_text(plan.revision)
        for name, size in plan.files:
            current = name
            if cancel is not None and cancel.cancelled:
                raise DownloadCancelled(f"Download of {repo} cancelled; run it again to resume.")
            fetch(name, size, meter, cancel)
            meter.end_file(size)
    except DownloadError:
        raise
    except Exception as exc:
        raise DownloadError(_explain(exc, repo, endpoint, revision, current)) from None
    finally:
        stop.set()
    meter.emit(final=True)
    snapshot = storage / "snapshots" / plan.revision
    log.info("downloaded %s (%d files) to %s", repo, len(plan.files), snapshot)
    return snapshot


def download_entry(entry: Entry, **kwargs: Any) -> Path:
    """Download a catalog entry: its repository, and only its files when it names a pattern (GGUF).

    Returns:
        The snapshot folder; for a GGUF entry the model file is ``folder / <file matching pattern>``.
    """
    return download(entry.repo, pattern=entry.pattern, **kwargs)


def run_cancellable(fn: Callable[[], Path], cancel: CancelToken) -> Path:
    """Run ``fn`` on a worker thread; Ctrl+C in the calling thread sets ``cancel`` and waits for it.

    Raises:
        DownloadCancelled: after Ctrl+C (or ``cancel`` set elsewhere).
    """
    box: dict[str, Any] = {}
    finished = threading.Event()

    def work() -> None:
        try:
            box["ok"] = fn()
        except BaseException as exc:  # handed back to the caller below
            box["err"] = exc
        finally:
            finished.set()

    worker = threading.Thread(target=work, name="studio-download", daemon=True)
    worker.start()
    while not finished.is_set():
        try:  # Event.wait, not Thread.join: a join interrupted by Ctrl+C can misreport the thread as done
            finished.wait(0.1)
        except KeyboardInterrupt:
            cancel.cancel()
    if "err" in box:
        raise box["err"]
    result: Path = box["ok"]
    return result


__all__ = [
    "DownloadCancelled",
    "DownloadError",
    "DownloadPlan",
    "DownloadProgress",
    "check_disk",
    "check_etag",
    "check_repo_path",
    "download",
    "download_entry",
    "inside",
    "offline_reason",
    "plan_download",
    "run_cancellable",
]
