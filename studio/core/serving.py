"""Artifacts served from memory by URL (Qt-free; the web layer is a thin adapter over it).

Each artifact gets its own host, ``artifact://<host>/``, so it gets its own origin (its own
localStorage, its own renderer) and cannot read another artifact's data. Pages are versioned
with a revision number in the query so a reload never shows a stale cached copy.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
import threading
from dataclasses import dataclass, field

from studio.core import runtime

log = logging.getLogger(__name__)

SCHEME = "artifact"
PAGE_NAME = "index.html"
_KEEP_REVISIONS = 4
_HOST_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_BAD_NAME_RE = re.compile(r"[/\\\x00-\x1f\x7f]")


RESET_PATH = "/_studio/reset"
RESET_DONE_TITLE = "studio-state-cleared"
# Served on an artifact's own origin: clears everything that origin stored, then says so in its title.
RESET_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>clearing</title></head><body><script>
(async () => {
  try { localStorage.clear(); } catch (e) {}
  try { sessionStorage.clear(); } catch (e) {}
  const deleteDb = (name) => new Promise((done) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = req.onerror = () => done();
    setTimeout(done, 3000);  // blocked by a connection still open elsewhere: give up waiting
  });
  try {
    for (const db of await indexedDB.databases()) await deleteDb(db.name);
  } catch (e) {}
  try { if (self.caches) for (const k of await caches.keys()) await caches.delete(k); } catch (e) {}
  document.title = "RESET_DONE_TITLE";
})();
</script></body></html>""".replace("RESET_DONE_TITLE", RESET_DONE_TITLE)


class NotFound(LookupError):
    """The URL names no artifact, page or file that the server holds."""


def host_for(artifact_id: str) -> str:
    """Map an artifact id to a valid URL host (lower case letters, digits, hyphens).

    Ids that are already valid hosts map to themselves; others are cleaned and get a short
    hash suffix so two different ids never share an origin.

    Args:
        artifact_id: any non-empty string.

    Returns:
        The host name used in the artifact's URLs.
    """
    if not artifact_id:
        raise ValueError("artifact id must not be empty")
    if _HOST_RE.match(artifact_id):
        return artifact_id
    cleaned = re.sub(r"[^a-z0-9-]+", "-", artifact_id.lower()).strip("-")[:40] or "a"
    digest = hashlib.sha1(artifact_id.encode("utf-8")).hexdigest()[:10]
    return f"{cleaned}-{digest}"


@dataclass
class _Site:
    revision: int = 0
    pages: dict[int, bytes] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


class ArtifactServer:
    """Holds artifact pages and their data files in memory and resolves URLs to content.

    Thread-safe: the web layer may resolve from any thread while the GUI puts pages.
    """

    def __init__(self) -> None:
        self._sites: dict[str, _Site] = {}
        self._lock = threading.Lock()

    def put_page(self, artifact_id: str, html: str) -> str:
        """Store a new revision of an artifact's page.

        Args:
            artifact_id: the artifact (its host is :func:`host_for` of it).
            html: the complete page.

        Returns:
            The URL to load, ``artifact://<host>/index.html?r=<revision>``.
        """
        host = host_for(artifact_id)
        with self._lock:
            site = self._sites.setdefault(host, _Site())
            site.revision += 1
            site.pages[site.revision] = html.encode("utf-8")
            for old in [r for r in site.pages if r <= site.revision - _KEEP_REVISIONS]:
                del site.pages[old]
            rev = site.revision
        return f"{SCHEME}://{host}/{PAGE_NAME}?r={rev}"

    def put_file(self, artifact_id: str, name: str, mime: str, data: bytes) -> str:
        """Store a data file the artifact may fetch as ``data/<name>``.

        Args:
            artifact_id: the artifact.
            name: a plain file name (no slashes, no control characters).
            mime: its MIME type; guessed from the name when empty.
            data: the bytes.

        Returns:
            The file's absolute URL.
        """
        if not name or len(name) > 255 or _BAD_NAME_RE.search(name) or name in {".", ".."}:
            raise ValueError(f"not a plain file name: {name!r}")
        host = host_for(artifact_id)
        mime = mime or mimetypes.guess_type(name)[0] or "application/octet-stream"
        with self._lock:
            self._sites.setdefault(host, _Site()).files[name] = (mime, bytes(data))
        return f"{SCHEME}://{host}/data/{name}"

    def files(self, artifact_id: str) -> dict[str, tuple[str, bytes]]:
        """Return a copy of the artifact's data files, name -> (mime, data)."""
        with self._lock:
            site = self._sites.get(host_for(artifact_id))
            return dict(site.files) if site else {}

    def remove(self, artifact_id: str) -> None:
        """Forget an artifact's pages and files."""
        with self._lock:
            self._sites.pop(host_for(artifact_id), None)

    def resolve(self, host: str, path: str, query: str = "") -> tuple[str, bytes]:
        """Map a request to (mime, bytes).

        Args:
            host: the URL host (an artifact's host).
            path: the URL path, e.g. ``/index.html`` or ``/data/x.csv``.
            query: the URL query; ``r=<n>`` picks a kept revision of the page.
                Paths under ``/_cdn/`` are CDN URLs answered from the offline runtime pack.

        Returns:
            The MIME type and the content.

        Raises:
            NotFound: no such artifact, page revision or file.
        """
        if path.startswith(runtime.CDN_PREFIX):
            return _pack_file(path, query)
        if path == RESET_PATH:
            return "text/html; charset=utf-8", RESET_PAGE.encode("utf-8")
        with self._lock:
            site = self._sites.get(host.lower())
            if site is None:
                raise NotFound(f"no artifact {host!r}")
            if path in ("", "/", f"/{PAGE_NAME}"):
                rev = _revision(query) or site.revision
                page = site.pages.get(rev)
                if page is None:
                    raise NotFound(f"no revision {rev} of {host!r}")
                return "text/html; charset=utf-8", page
            if path.startswith("/data/"):
                entry = site.files.get(path[len("/data/") :])
                if entry is not None:
                    return entry
        raise NotFound(f"no file {path!r} in {host!r}")


def _pack_file(path: str, query: str) -> tuple[str, bytes]:
    """A runtime-pack file mirrored under an artifact's origin (the same for every artifact)."""
    try:
        return runtime.serve_cdn_path(path, query)
    except runtime.PackMissing as exc:
        log.warning("%s", exc)
        raise NotFound(str(exc)) from None
    except LookupError as exc:
        raise NotFound(str(exc)) from None


def _revision(query: str) -> int:
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == "r" and value.isdigit():
            return int(value)
    return 0
