"""The download types: progress, plan and errors (shared by the planner and the HTTP transfer)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from studio.engine.base import EngineError

MiB = 1024 * 1024
GB = 1024**3


class DownloadError(EngineError):
    """A download failed; the message is one sentence for the user."""


class DownloadCancelled(DownloadError):
    """The download was cancelled; the partial file stays, so the next download resumes."""


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    """Where a download stands.

    Attributes:
        done_bytes: bytes on disk for the planned files (what was already there counts).
        total_bytes: the size of all planned files.
        speed_bps: bytes per second over the last few seconds.
        eta_s: seconds left at that speed, or None while unknown.
        file: the file being fetched (None at the end).
        files_done: files complete.
        files_total: files planned.
    """

    done_bytes: int
    total_bytes: int
    speed_bps: float
    eta_s: float | None
    file: str | None
    files_done: int
    files_total: int

    @property
    def fraction(self) -> float:
        return 1.0 if self.total_bytes <= 0 else min(1.0, self.done_bytes / self.total_bytes)


@dataclass(frozen=True, slots=True)
class DownloadPlan:
    """What a download fetches.

    Attributes:
        repo: the repository id.
        revision: the commit id the files come from.
        files: ``(name, size)`` of each planned file.
        total_bytes: their total size.
        present_bytes: how much of that is already in the cache (complete files and partial ones).
        ref: the branch or tag asked for ("main" by default); the cache maps it to ``revision``.
        etags: the blob name of each file where the hub said it (SHA-256 or git blob id).
    """

    repo: str
    revision: str
    files: tuple[tuple[str, int], ...]
    total_bytes: int
    present_bytes: int
    ref: str = "main"
    etags: tuple[tuple[str, str], ...] = ()

    @property
    def needed_bytes(self) -> int:
        return max(0, self.total_bytes - self.present_bytes)


def host_of(endpoint: str | None) -> str:
    """The hub's host name for messages (``huggingface.co`` by default)."""
    from huggingface_hub import constants

    return urlsplit(endpoint or constants.ENDPOINT).netloc or (endpoint or "the hub")


__all__ = [
    "GB",
    "DownloadCancelled",
    "DownloadError",
    "DownloadPlan",
    "DownloadProgress",
    "MiB",
    "check_etag",
    "check_repo_path",
    "host_of",
    "inside",
]


# -- paths from the hub: a hostile hub must not write outside the cache ---------------------------

_ETAG = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")  # a git blob id or an LFS SHA-256


def check_repo_path(name: str, what: str = "file name") -> str:
    """A path inside a repository as the hub names it, refused when it could leave the cache.

    Raises:
        DownloadError: empty, absolute, a drive, a backslash, a ``..`` or empty part, a control character.
    """
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or re.match(r"^[A-Za-z]:", name)
        or any(p in ("", ".", "..") for p in parts)
        or any(ord(c) < 32 or c == "\x7f" for c in name)
    ):
        raise DownloadError(f"the hub sent an unsafe {what}: {name!r}; nothing was written.")
    return name


def check_etag(etag: str, name: str) -> str:
    """An ETag used as a blob's file name: 40 or 64 lower-case hex digits.

    Raises:
        DownloadError: anything else.
    """
    if not _ETAG.match(etag):
        raise DownloadError(f"the hub sent an unsafe ETag for {name}: {etag[:80]!r}; nothing was written.")
    return etag


def inside(root: Path, path: Path) -> Path:
    """``path``, checked to resolve (symlinks and all) inside ``root``.

    Raises:
        DownloadError: it would not.
    """
    real_root = root.resolve()
    real = path.resolve()
    if real != real_root and not real.is_relative_to(real_root):
        raise DownloadError(f"refused to write outside the model cache: {path}")
    return path
