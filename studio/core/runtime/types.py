"""The runtime pack's types: the manifest with its folder (:class:`Pack`) and one answer (:class:`PackFile`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.core.runtime.versions import parse_version, version_in, version_range

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


def mime_for(path: str) -> str:
    """Content type by file extension."""
    ext = os.path.splitext(path)[1].lower()
    return _MIME.get(ext, "application/octet-stream")


__all__ = ["Pack", "PackFile", "PackMissing", "mime_for"]
