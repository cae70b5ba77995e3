"""The offline runtime pack: which pinned library file answers a CDN URL, and its bytes.

The pack is described by ``resources/runtime/manifest.json`` (package, version, npm integrity, files
with sha256, the versions each pin honours, CDN names and URL patterns) and fetched into
``resources/runtime/pack/<name>@<version>/`` by ``scripts/fetch_runtime.py``. This module maps URLs of
jsDelivr, unpkg, Skypack, esm.sh, cdnjs and a few project CDNs (cdn.tailwindcss.com, d3js.org,
cdn.plot.ly, code.jquery.com) to pack files. ES-module requests are answered by
:mod:`studio.core.runtime.modules`; export inlining lives in :mod:`studio.core.runtime.inline`.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from studio.core.resources import resource_path
from studio.core.runtime import modules as rm
from studio.core.runtime.types import Pack, PackFile, PackMissing, mime_for

log = logging.getLogger(__name__)


_NPM_HOSTS = {
    "cdn.jsdelivr.net": "/npm/",
    "fastly.jsdelivr.net": "/npm/",
    "unpkg.com": "/",
    "cdn.skypack.dev": "/",
}
_ESM_HOSTS = {"esm.sh"}
_CDNJS_HOST = "cdnjs.cloudflare.com"


def _resource_root() -> Path:
    """The resources folder that holds ``runtime/manifest.json``."""
    return resource_path("runtime", "manifest.json").parent.parent


@functools.lru_cache(maxsize=1)
def default_pack() -> Pack:
    """The application's pack (``$STUDIO_RUNTIME_PACK`` overrides the folder of fetched files)."""
    res = _resource_root() / "runtime"
    root = Path(os.environ.get("STUDIO_RUNTIME_PACK", res / "pack"))
    return Pack.load(res / "manifest.json", root)


# -- URL resolution ------------------------------------------------------------------------------


def _split_pkg(rest: str) -> tuple[str, str, str]:
    """``@scope/name@1.2/sub/path`` -> (name, version spec, sub path)."""
    parts = rest.split("/")
    n = 2 if rest.startswith("@") else 1
    head, sub = "/".join(parts[:n]), "/".join(parts[n:])
    if "@" in head.lstrip("@"):
        at = head.rindex("@")
        return head[:at], head[at + 1 :], sub
    return head, "", sub


def resolve_cdn_url(url: str, pack: Pack | None = None) -> PackFile | None:
    """Which pack file answers a CDN URL, at any version the pack honours.

    Args:
        url: an absolute (or protocol-relative) URL as an artifact requests it.
        pack: the pack to use (the application's by default).

    Returns:
        The answering :class:`PackFile`, or None when the pack cannot serve the URL.
    """
    pack = pack or default_pack()
    if url.startswith("//"):
        url = "https:" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    host = (parts.hostname or "").lower()
    path = parts.path
    query = parse_qs(parts.query, keep_blank_values=True)
    external = tuple(x for v in query.get("external", []) for x in v.split(",") if x)
    for e in pack.entries:
        for pat in e.get("patterns", []):
            if pat["host"] != host:
                continue
            m = re.match(pat["regex"], path)
            if m is None:
                continue
            spec = m.groupdict().get("v") or ""
            any_version = pat.get("versions") == "any" or spec == "latest"
            target = e if pat.get("versions") == "pin" else pack.pick(e["name"], "" if any_version else spec)
            if target is not e:
                continue
            sub = m.groupdict().get("path")
            file = (
                pack.find_file(e, sub)
                if sub
                else pat.get("file_slim" if m.groupdict().get("slim") else "file")
            )
            if file:
                return PackFile(e["name"], e["version"], file, mime_for(file))
    if host in _NPM_HOSTS and path.startswith(_NPM_HOSTS[host]):
        rest = path[len(_NPM_HOSTS[host]) :]
        name, spec, sub = _split_pkg(rest)
        esm = host == "cdn.skypack.dev" or "module" in query or sub.endswith("+esm")
        sub = sub.removesuffix("+esm").rstrip("/") if sub.endswith("+esm") else sub
        alias_paths: dict[str, str] = {}
        if name in pack._aliases:
            name, alias_paths = pack._aliases[name]
            sub = alias_paths.get(sub, sub)
        entry = pack.pick(name, spec)
        if entry is None:
            return None
        if esm:
            return rm.module_file(pack, entry, sub, url, external, exact=False)
        file = pack.find_file(entry, sub)
        return PackFile(entry["name"], entry["version"], file, mime_for(file)) if file else None
    if host in _ESM_HOSTS:
        rest = re.sub(r"^/(?:v\d+|stable)/", "/", path).lstrip("/")
        name, spec, sub = _split_pkg(rest)
        entry = pack.pick(name, spec)
        if entry is None:
            return None
        return rm.module_file(pack, entry, sub, url, external, exact=spec == entry["version"])
    if host == _CDNJS_HOST and path.startswith("/ajax/libs/"):
        bits = path[len("/ajax/libs/") :].split("/", 2)
        if len(bits) < 3:
            return None
        cname, spec, sub = bits
        for e in pack._cdnjs.get(cname.lower(), []):
            if pack.pick(e["name"], spec) is e:
                file = pack.find_file(e, sub, cdnjs=True)
                return PackFile(e["name"], e["version"], file, mime_for(file)) if file else None
    return None


def pack_file_bytes(pf: PackFile, pack: Pack | None = None) -> bytes:
    """The content that answers a resolved URL.

    Raises:
        PackMissing: the pack has not been fetched.
    """
    pack = pack or default_pack()
    if pf.module is None:
        return pack.read(pack.entry(pf.package, pf.version), pf.path)
    return rm.module_bytes(pack, pf).encode("utf-8")


def available_libraries(pack: Pack | None = None) -> list[str]:
    """Libraries the studio serves offline, e.g. ``"Chart.js 4.4.1"``, for the system prompt."""
    return (pack or default_pack()).available_libraries()


def library_hints(pack: Pack | None = None) -> list[str]:
    """``"Chart.js 4.4.1: https://cdn.jsdelivr.net/npm/chart.js@4.4.1/dist/chart.umd.js"``, one per library."""
    return (pack or default_pack()).library_hints()


def pack_ready(pack: Pack | None = None) -> bool:
    """Whether every manifest file has been fetched."""
    return not (pack or default_pack()).missing()


# -- serving under the artifact scheme -----------------------------------------------------------

CDN_PREFIX = "/_cdn/"
"""Path prefix under an artifact's own origin that mirrors CDN URLs: ``/_cdn/<host>/<path>``."""


def cdn_path(url: str, pack: Pack | None = None) -> str | None:
    """Where an artifact's origin serves a CDN URL from the pack, or None when the pack cannot.

    The web layer redirects a request for ``url`` to ``artifact://<artifact-host>`` + this path:
    same origin (no CORS), and a module's relative imports resolve to further ``/_cdn/`` paths.

    Args:
        url: the requested absolute URL.
        pack: the pack to use (the application's by default).

    Returns:
        ``/_cdn/<host><path>[?<query>]`` or None.
    """
    if resolve_cdn_url(url, pack) is None:
        return None
    parts = urlsplit("https:" + url if url.startswith("//") else url)
    path = f"{CDN_PREFIX}{(parts.hostname or '').lower()}{parts.path or '/'}"
    return path + (f"?{parts.query}" if parts.query else "")


def serve_cdn_path(path: str, query: str = "", pack: Pack | None = None) -> tuple[str, bytes]:
    """Answer a ``/_cdn/...`` request of an artifact page: (mime, bytes).

    Raises:
        LookupError: the path is not a CDN URL the pack serves.
        PackMissing: the pack has not been fetched.
    """
    if not path.startswith(CDN_PREFIX):
        raise LookupError(f"not a runtime path: {path!r}")
    url = "https://" + path[len(CDN_PREFIX) :] + (f"?{query}" if query else "")
    pf = resolve_cdn_url(url, pack)
    if pf is None:
        raise LookupError(f"the runtime pack has no file for {url}")
    mime = pf.mime + ("; charset=utf-8" if pf.mime.startswith("text/") else "")
    return mime, pack_file_bytes(pf, pack)


__all__ = [
    "CDN_PREFIX",
    "Pack",
    "PackFile",
    "PackMissing",
    "available_libraries",
    "cdn_path",
    "default_pack",
    "library_hints",
    "mime_for",
    "pack_file_bytes",
    "pack_ready",
    "resolve_cdn_url",
    "serve_cdn_path",
]
