"""Fetch one planned file into the Hugging Face cache over HTTP: resume, hashing, retries, cancel.

The bytes come through huggingface_hub's HTTP session, into the cache layout ``hf_hub_download`` writes
(``models--owner--name/{blobs/<etag>, snapshots/<commit>/<file>}``). The partial file is
``blobs/<etag>.incomplete`` (the name older huggingface_hub versions used) and a rerun resumes it with an
HTTP ``Range`` request. LFS files (ETag = SHA-256) are hashed while they arrive and checked. Transient
network errors are retried (resuming where the file stopped); a watcher thread shuts the socket when a
download is cancelled, so a read blocked on a silent server returns. :mod:`studio.models.download`
holds the public API and drives these pieces.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from studio.engine.base import CancelToken
from studio.models.download_types import (
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

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.1  # seconds between progress callbacks (~10/s)
_RETRIES = 5  # transient network errors in a row before giving up
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


# -- progress -------------------------------------------------------------------------------------


class Meter:
    """Counts bytes, computes speed over a sliding window, calls ``progress`` at most ~10 times a second."""

    def __init__(self, plan: DownloadPlan, progress: Callable[[DownloadProgress], None] | None) -> None:
        self.total = plan.total_bytes
        self.files_total = len(plan.files)
        self.files_done = 0
        self.done_before = 0  # bytes of files finished (or skipped)
        self.file_done = 0  # bytes of the current file on disk
        self.file: str | None = None
        self.progress = progress
        self._samples: list[tuple[float, int]] = []
        self._fetched = 0
        self._last = 0.0

    @property
    def done(self) -> int:
        return self.done_before + self.file_done

    def start_file(self, name: str, on_disk: int) -> None:
        self.file, self.file_done = name, on_disk
        self.emit(force=True)

    def add(self, n: int) -> None:
        self.file_done += n
        self._fetched += n
        self.emit()

    def end_file(self, size: int) -> None:
        self.done_before += size
        self.file_done = 0
        self.files_done += 1

    def speed(self, now: float) -> float:
        self._samples.append((now, self._fetched))
        while len(self._samples) > 2 and now - self._samples[0][0] > 5.0:
            self._samples.pop(0)
        t0, b0 = self._samples[0]
        return (self._fetched - b0) / (now - t0) if now > t0 else 0.0

    def emit(self, *, force: bool = False, final: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if not force and not final and now - self._last < PROGRESS_INTERVAL:
            return
        self._last = now
        speed = self.speed(now)
        left = max(0, self.total - self.done)
        eta = 0.0 if final or left == 0 else (left / speed if speed > 0 else None)
        self.progress(
            DownloadProgress(
                done_bytes=self.total if final else min(self.done, self.total),
                total_bytes=self.total,
                speed_bps=speed,
                eta_s=eta,
                file=None if final else self.file,
                files_done=self.files_done,
                files_total=self.files_total,
            )
        )


# -- fetching one file ----------------------------------------------------------------------------


def _link(blob: Path, pointer: Path) -> None:
    """Point the snapshot file at its blob: a relative symlink, else a copy (as huggingface_hub does)."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    try:
        pointer.unlink(missing_ok=True)
        pointer.symlink_to(os.path.relpath(blob, pointer.parent))
    except OSError:
        shutil.copyfile(blob, pointer)


def _hash_of(path: Path) -> Any:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(4 * MiB):
            digest.update(chunk)
    return digest


class Fetch:
    """Fetch one file of a plan into the cache, resuming a partial blob."""

    def __init__(self, repo: str, plan: DownloadPlan, storage: Path, endpoint: str | None, token: str | None):
        self.repo, self.plan, self.storage, self.endpoint, self.token = repo, plan, storage, endpoint, token
        self._live: Any = None  # the network stream of the response being read

    def abort(self) -> None:
        """Shut the socket being read (from another thread): a read blocked on a silent server returns."""
        live = self._live
        sock = live.get_extra_info("socket") if live is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __call__(self, name: str, size: int, meter: Meter, cancel: CancelToken | None) -> None:
        from huggingface_hub import get_hf_file_metadata, hf_hub_url
        from huggingface_hub.utils import build_hf_headers

        pointer = inside(
            self.storage, self.storage / "snapshots" / self.plan.revision / check_repo_path(name)
        )
        if pointer.is_file():
            meter.start_file(name, size)
            return
        url = hf_hub_url(self.repo, name, revision=self.plan.revision, endpoint=self.endpoint)
        meta = get_hf_file_metadata(url, token=self.token, endpoint=self.endpoint)
        etag = meta.etag or dict(self.plan.etags).get(name)
        if not etag:
            raise DownloadError(
                f"{host_of(self.endpoint)} gave no ETag for {name}: it is not a Hugging Face hub."
            )
        expected = meta.size if meta.size is not None else size
        blob = inside(self.storage, self.storage / "blobs" / check_etag(etag, name))
        if not blob.is_file():
            headers = build_hf_headers(token=self.token)
            headers["Accept-Encoding"] = "identity"
            location = meta.location or url
            if urlsplit(location).netloc != urlsplit(url).netloc:
                headers.pop("authorization", None)  # a CDN: no token there
            self._get(location, headers, blob, name, expected, etag, meter, cancel)
        _link(blob, pointer)

    def _get(
        self,
        url: str,
        headers: dict[str, str],
        blob: Path,
        name: str,
        expected: int,
        etag: str,
        meter: Meter,
        cancel: CancelToken | None,
    ) -> None:
        import httpx2
        from huggingface_hub import constants
        from huggingface_hub.utils import get_session, hf_raise_for_status

        blob.parent.mkdir(parents=True, exist_ok=True)
        part = blob.with_name(etag + ".incomplete")
        if part.is_file() and part.stat().st_size > expected:
            part.unlink()  # longer than the file: not ours to resume
        digest = _hash_of(part) if _SHA256.match(etag) and part.is_file() else None
        if digest is None and _SHA256.match(etag):
            digest = hashlib.sha256()
        retries = _RETRIES
        with part.open("ab") as out:
            meter.start_file(name, out.tell())
            while out.tell() < expected:
                have = out.tell()
                req = dict(headers)
                if have:
                    req["Range"] = f"bytes={have}-"
                try:
                    with get_session().stream(
                        "GET",
                        url,
                        headers=req,
                        timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT,
                        follow_redirects=True,
                    ) as resp:
                        self._live = resp.extensions.get("network_stream")
                        hf_raise_for_status(resp)
                        if have and resp.status_code == 200:  # the server ignored Range: start over
                            out.seek(0)
                            out.truncate()
                            digest = hashlib.sha256() if digest is not None else None
                            meter.start_file(name, 0)
                        for chunk in resp.iter_bytes():
                            if cancel is not None and cancel.cancelled:
                                raise DownloadCancelled(
                                    f"Download of {self.repo} cancelled; run it again to resume."
                                )
                            if not chunk:
                                continue
                            out.write(chunk)
                            if digest is not None:
                                digest.update(chunk)
                            meter.add(len(chunk))
                            retries = _RETRIES
                except (httpx2.TransportError, httpx2.StreamError) as exc:
                    out.flush()
                    if cancel is not None and cancel.cancelled:
                        raise DownloadCancelled(
                            f"Download of {self.repo} cancelled; run it again to resume."
                        ) from None
                    retries -= 1
                    if retries <= 0 or (isinstance(exc, httpx2.ConnectError) and out.tell() == have):
                        raise
                    log.warning("connection to %s broke (%s); resuming at %d bytes", url, exc, out.tell())
                    time.sleep(0.2)
                    continue
                finally:
                    self._live = None
                out.flush()
                if out.tell() == have:  # the server sent nothing new
                    break
        got = part.stat().st_size
        if got != expected:
            raise DownloadError(
                f"{name} arrived with {got} bytes instead of {expected}: run the download again."
            )
        if digest is not None and digest.hexdigest() != etag:
            part.unlink()
            raise DownloadError(
                f"{name} was corrupted on the way (checksum mismatch): run the download again."
            )
        os.replace(part, blob)


def watch_cancel(cancel: CancelToken, stop: threading.Event, fetch: Fetch) -> None:
    """Until ``stop`` is set, shut ``fetch``'s socket whenever ``cancel`` is set (run on a thread)."""
    while not stop.wait(0.05):
        if cancel.cancelled:
            fetch.abort()  # again each time: the cancel may land between two requests


__all__ = ["PROGRESS_INTERVAL", "Fetch", "Meter", "watch_cancel"]
