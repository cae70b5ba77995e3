"""The offline runtime pack: which pinned library file answers a CDN URL, and its bytes.

The pack is described by ``resources/runtime/manifest.json`` (package, version, npm integrity, files
with sha256, the versions each pin honours, CDN names and URL patterns) and fetched into
``resources/runtime/pack/<name>@<version>/`` by ``scripts/fetch_runtime.py``. This module maps URLs of
jsDelivr, unpkg, Skypack, esm.sh, cdnjs and a few project CDNs (cdn.tailwindcss.com, d3js.org,
cdn.plot.ly, code.jquery.com) to pack files. ES-module requests are answered by
:mod:`studio.core.runtime_modules`; export inlining lives in :mod:`studio.core.runtime_inline`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from studio.core.runtime_versions import parse_version, version_in, version_range

log = logging.getLogger("studio.runtime")


_NPM_HOSTS = {
    "cdn.jsdelivr.net": "/npm/",
    "fastly.jsdelivr.net": "/npm/",
    "unpkg.com": "/",
    "cdn.skypack.dev": "/",
}
_ESM_HOSTS = {"esm.sh"}
_CDNJS_HOST = "cdnjs.cloudflare.com"
_MIME = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
}


class PackMissing(FileNotFoundError):
    """A manifest file is not on disk: run ``python scripts/fetch_runtime.py``."""


@dataclass(frozen=True)
class PackFile:
    """One answer of the pack to a URL.

    Attributes:
        package: npm package name.
        version: pinned version that answers.
        path: file inside the package (for modules: the file the module is made from, or "").
        mime: content type.
        module: ES-module key ("" for the root, "hooks", "addons/x.js", ...) or None for a plain file.
        canonical: for modules, the pinned esm.sh URL whose module instance every alias shares.
        stub: True when this URL only re-exports ``canonical`` (same instance for every alias).
        external: bare imports left to the page's import map (esm.sh ``?external=``).
    """

    package: str
    version: str
    path: str
    mime: str
    module: str | None = None
    canonical: str = ""
    stub: bool = False
    external: tuple[str, ...] = ()

    @property
    def pin(self) -> str:
        """``name@version`` of the answering package."""
        return f"{self.package}@{self.version}"


class Pack:
    """The manifest and the folder holding the fetched files."""

    def __init__(self, manifest: dict[str, Any], root: Path) -> None:
        self.manifest = manifest
        self.root = root
        self.entries: list[dict[str, Any]] = manifest["packages"]
        self._by_name: dict[str, list[dict[str, Any]]] = {}
        self._cdnjs: dict[str, list[dict[str, Any]]] = {}
        self._aliases: dict[str, tuple[str, dict[str, str]]] = {}
        for e in self.entries:
            self._by_name.setdefault(e["name"], []).append(e)
            if "cdnjs" in e:
                self._cdnjs.setdefault(e["cdnjs"].lower(), []).append(e)
            for alias, paths in e.get("npm_aliases", {}).items():
                self._aliases[alias] = (e["name"], paths)

    @classmethod
    def load(cls, manifest_path: Path, root: Path) -> Pack:
        """Read a manifest; ``root`` is the folder of ``<name>@<version>`` subfolders."""
        return cls(json.loads(manifest_path.read_text(encoding="utf-8")), root)

    # -- picking a pin -------------------------------------------------------------------------

    def pick(self, name: str, spec: str) -> dict[str, Any] | None:
        """The pinned entry that honours ``name@spec`` ("" or a dist tag: the default pin)."""
        entries = self._by_name.get(name, [])
        if not entries:
            return None
        if spec in ("", "latest"):
            return next((e for e in entries if e.get("default")), None)
        rng = version_range(spec)
        if rng is None:
            return None
        lo, hi = rng
        for e in entries:
            v = parse_version(e["version"])
            if v is not None and lo <= v < hi:
                return e
        for e in entries:
            if any(version_in(lo, r) for r in e["honours"]):
                return e
        return None

    def entry(self, name: str, version: str) -> dict[str, Any]:
        """The entry pinned at exactly ``name@version``."""
        for e in self._by_name.get(name, []):
            if e["version"] == version:
                return e
        raise KeyError(f"{name}@{version} is not in the pack")

    def default_entry(self, name: str) -> dict[str, Any] | None:
        """The pin served for unversioned requests of ``name``."""
        return self.pick(name, "")

    # -- files ---------------------------------------------------------------------------------

    def file_path(self, entry: dict[str, Any], path: str) -> Path:
        """Where a pack file lives on disk."""
        return self.root / f"{entry['name']}@{entry['version']}" / path

    def read(self, entry: dict[str, Any], path: str) -> bytes:
        """The bytes of a pack file.

        Raises:
            PackMissing: the pack has not been fetched.
        """
        p = self.file_path(entry, path)
        try:
            return p.read_bytes()
        except FileNotFoundError as exc:
            raise PackMissing(f"{p} is missing: run `python scripts/fetch_runtime.py`") from exc

    def find_file(self, entry: dict[str, Any], path: str, cdnjs: bool = False) -> str | None:
        """The package file answering ``path`` (aliases, ``.min`` either way, cdnjs's flat layout)."""
        files: dict[str, str] = entry["files"]
        path = path.strip("/")
        if not path:
            return str(entry["main"])
        cands = [path, entry.get("aliases", {}).get(path, "")]
        if cdnjs:
            cands += [f"{d}/{path}" for d in ("dist", "build", "lib")]
        for c in list(cands):
            if c.endswith((".min.js", ".min.css")):
                cands.append(c.replace(".min.", ".", 1))
            elif c.endswith((".js", ".css")):
                stem, ext = c.rsplit(".", 1)
                cands.append(f"{stem}.min.{ext}")
        for c in cands:
            if c and c in files:
                return c
            if c and c in entry.get("aliases", {}):
                return str(entry["aliases"][c])
        return None

    def available_libraries(self) -> list[str]:
        """Human names with versions for the system prompt, one per default pin."""
        out = []
        for e in self.entries:
            if e.get("default") and e["name"] not in ("react-dom", "htm", "@babel/standalone"):
                others = [o["version"] for o in self._by_name[e["name"]] if o is not e]
                also = f" (also {', '.join(others)})" if others else ""
                out.append(f"{e['label']} {e['version']}{also}")
        return out

    def library_hints(self) -> list[str]:
        """One line per default pin: the library and a URL the pack serves, for a system prompt."""
        out = []
        for e in self.entries:
            if e.get("default") and e["name"] not in ("react-dom", "htm", "@babel/standalone"):
                url = e.get("hint") or f"https://cdn.jsdelivr.net/npm/{e['name']}@{e['version']}/{e['main']}"
                out.append(f"{e['label']} {e['version']}: {url}")
        return out

    def missing(self) -> list[str]:
        """Manifest files not on disk (empty when the pack is complete)."""
        return [
            f"{e['name']}@{e['version']}/{p}"
            for e in self.entries
            for p in e["files"]
            if not self.file_path(e, p).is_file()
        ]


def _resource_root() -> Path:
    """resources/ next to the package (source checkout, editable install) or inside it (wheels)."""
    here = Path(__file__).resolve().parent.parent
    for cand in (here.parent / "resources", here / "resources"):
        if (cand / "runtime" / "manifest.json").is_file():
            return cand
    return here.parent / "resources"


@functools.lru_cache(maxsize=1)
def default_pack() -> Pack:
    """The application's pack (``$STUDIO_RUNTIME_PACK`` overrides the folder of fetched files)."""
    res = _resource_root() / "runtime"
    root = Path(os.environ.get("STUDIO_RUNTIME_PACK", res / "pack"))
    return Pack.load(res / "manifest.json", root)


def mime_for(path: str) -> str:
    """Content type by file extension."""
    ext = os.path.splitext(path)[1].lower()
    return _MIME.get(ext, "application/octet-stream")


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
    from studio.core import runtime_modules as rm

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
    from studio.core import runtime_modules as rm

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
