"""The download types: progress, plan and errors (shared by the planner and the HTTP transfer)."""

from __future__ import annotations

from dataclasses import dataclass
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


__all__ = ["GB", "DownloadCancelled", "DownloadError", "DownloadPlan", "DownloadProgress", "MiB", "host_of"]
