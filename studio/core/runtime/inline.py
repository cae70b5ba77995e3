"""Inline the runtime pack into a page, so an exported artifact opens with no network.

* ``<script src=CDN>`` becomes ``<script src="data:...">`` (same execution order, defer/async kept);
* ``<link rel=stylesheet href=CDN>`` becomes a ``<style>`` with the CSS, its ``url()`` fonts and
  images as data: URLs;
* module graphs (``<script type=module src=CDN>``, ``import ... from "CDN"`` in inline modules, and
  the import map's entries) are added to the import map as data: URLs, keyed by their CDN URL and
  by the bare names that reach them; relative imports inside them are made absolute first.

URLs the pack cannot serve are left exactly as they were.
"""

from __future__ import annotations

import base64
import html as htmlmod
import json
import logging
import re
from urllib.parse import urljoin

from studio.core.runtime import Pack, PackMissing, default_pack, pack_file_bytes, resolve_cdn_url
from studio.core.runtime.modules import DYNAMIC_IMPORT_RE, IMPORT_RE, is_bare, rewrite_specifiers

log = logging.getLogger(__name__)

_SCRIPT_RE = re.compile(r"(<script\b[^>]*>)(.*?)(</script\s*>)", re.I | re.S)
_LINK_RE = re.compile(r"<link\b[^>]*>", re.I)
_ATTR_RE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")
_CSS_URL_RE = re.compile(r"""url\(\s*(["']?)([^"')]+)\1\s*\)""")
_CSS_IMPORT_RE = re.compile(r"""@import\s+(["'])([^"']+)\1\s*;""")
_HEAD_RE = re.compile(r"<head\b[^>]*>", re.I)
_CHARSET_RE = re.compile(r"<meta\b[^>]*\bcharset\s*=[^>]*>", re.I)
_DROP_ATTRS = {"src", "integrity", "crossorigin", "referrerpolicy"}


def _attrs(tag: str) -> list[tuple[str, str | None]]:
    inner = re.sub(r"^<\w+|/?>$", "", tag)
    out: list[tuple[str, str | None]] = []
    for m in _ATTR_RE.finditer(inner):
        value = m.group(2)
        if value is not None and value[:1] in ("'", '"'):
            value = value[1:-1]
        out.append((m.group(1).lower(), None if value is None else htmlmod.unescape(value)))
    return out


def _tag(name: str, attrs: list[tuple[str, str | None]]) -> str:
    parts = [name] + [k if v is None else f'{k}="{htmlmod.escape(v, quote=True)}"' for k, v in attrs]
    return "<" + " ".join(parts) + ">"


def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _absolute(url: str) -> str:
    return "https:" + url if url.startswith("//") else url


class _Inliner:
    def __init__(self, pack: Pack, imports: dict[str, str]) -> None:
        self.pack = pack
        self.imports = imports
        self.modules: dict[str, str] = {}  # CDN URL -> data: URL
        self.bare: dict[str, str] = {}  # bare specifier -> CDN URL it reaches

    def fetch(self, url: str) -> tuple[str, bytes] | None:
        pf = resolve_cdn_url(_absolute(url), self.pack)
        if pf is None:
            return None
        try:
            return pf.mime, pack_file_bytes(pf, self.pack)
        except PackMissing as exc:
            log.warning("not inlined: %s", exc)
            return None

    def map_bare(self, spec: str) -> str | None:
        if spec in self.imports:
            return self.imports[spec]
        keys = [k for k in self.imports if k.endswith("/") and spec.startswith(k)]
        if not keys:
            return None
        key = max(keys, key=len)
        return self.imports[key] + spec[len(key) :]

    def module(self, url: str) -> bool:
        """Add a module and everything it imports to the data: table; False when not in the pack."""
        url = _absolute(url)
        if url in self.modules:
            return True
        got = self.fetch(url)
        if got is None:
            return False
        self.modules[url] = ""  # placeholder against cycles
        text = got[1].decode("utf-8")

        def absolutize(spec: str) -> str:
            return urljoin(url, spec) if spec.startswith(("./", "../", "/")) else spec

        text = rewrite_specifiers(text, absolutize)
        self.scan(text)
        self.modules[url] = _data_url("text/javascript", text.encode("utf-8"))
        return True

    def scan(self, text: str) -> None:
        """Follow the imports of module text (absolute CDN URLs and bare names through the map)."""
        for rx in (IMPORT_RE, DYNAMIC_IMPORT_RE):
            for m in rx.finditer(text):
                spec = m.group(2)
                if spec.startswith(("https://", "http://", "//")):
                    self.module(spec)
                elif is_bare(spec):
                    target = self.map_bare(spec)
                    if target and target.startswith(("https://", "http://", "//")) and self.module(target):
                        self.bare[spec] = _absolute(target)

    def css(self, url: str, text: str, depth: int = 0) -> str:
        def inline_url(m: re.Match[str]) -> str:
            ref = m.group(2).strip()
            if ref.startswith(("data:", "#")):
                return m.group(0)
            got = self.fetch(urljoin(url, ref))
            return f'url("{_data_url(got[0], got[1])}")' if got else m.group(0)

        def inline_import(m: re.Match[str]) -> str:
            target = urljoin(url, m.group(2))
            got = self.fetch(target) if depth < 4 else None
            return self.css(target, got[1].decode("utf-8"), depth + 1) if got else m.group(0)

        return _CSS_URL_RE.sub(inline_url, _CSS_IMPORT_RE.sub(inline_import, text))

    def final_map(self) -> dict[str, str]:
        out = dict(self.imports)
        for key, value in self.imports.items():
            target = _absolute(value)
            if not key.endswith("/") and target in self.modules:
                out[key] = self.modules[target]
        for spec, target in self.bare.items():
            out[spec] = self.modules[target]
        out.update(self.modules)
        return out


def inline_runtime(html: str, pack: Pack | None = None) -> str:
    """Replace every CDN script, stylesheet and import-map entry the pack serves by inline content.

    Args:
        html: the page.
        pack: the pack to use (the application's by default).

    Returns:
        The page with pack files inlined; unknown URLs are left as they are.
    """
    pack = pack or default_pack()
    map_match = next((m for m in _SCRIPT_RE.finditer(html) if _is_type(m.group(1), "importmap")), None)
    parsed: dict = {}
    if map_match is not None:
        try:
            parsed = json.loads(map_match.group(2))
        except ValueError:
            log.warning("import map is not valid JSON; left as is")
            map_match = None
    inl = _Inliner(pack, dict(parsed.get("imports", {})) if isinstance(parsed, dict) else {})
    for key, value in list(inl.imports.items()):
        if (
            not key.endswith("/")
            and isinstance(value, str)
            and value.startswith(("https://", "http://", "//"))
        ):
            inl.module(value)

    def script(m: re.Match[str]) -> str:
        open_tag, body, close = m.groups()
        if m is map_match or _is_type(open_tag, "importmap"):
            return m.group(0)
        attrs = _attrs(open_tag)
        src = next((v for k, v in attrs if k == "src"), None)
        is_module = _is_type(open_tag, "module")
        if src is None:
            if is_module:
                inl.scan(body)
            return m.group(0)
        if is_module:
            if not inl.module(src):
                return m.group(0)
            kept = [(k, v) for k, v in attrs if k not in _DROP_ATTRS]
            return f"{_tag('script', kept)}import {json.dumps(_absolute(src))};{close}"
        got = inl.fetch(src)
        if got is None:
            return m.group(0)
        kept = [(k, v) for k, v in attrs if k not in _DROP_ATTRS]
        return f"{_tag('script', [('src', _data_url('text/javascript', got[1])), *kept])}{close}"

    def link(m: re.Match[str]) -> str:
        attrs = _attrs(m.group(0))
        rel = (next((v for k, v in attrs if k == "rel"), "") or "").lower().split()
        href = next((v for k, v in attrs if k == "href"), None)
        if href is None or not ({"stylesheet", "preload", "modulepreload"} & set(rel)):
            return m.group(0)
        got = inl.fetch(href)
        if got is None:
            return m.group(0)
        if "stylesheet" not in rel:
            return ""
        css = inl.css(_absolute(href), got[1].decode("utf-8")).replace("</style", "<\\/style")
        media = [(k, v) for k, v in attrs if k == "media"]
        return f"{_tag('style', media)}{css}</style>"

    out = _SCRIPT_RE.sub(script, html)
    out = _LINK_RE.sub(link, out)
    final = inl.final_map()
    if final == inl.imports:
        return out
    body = dict(parsed) if isinstance(parsed, dict) else {}
    body["imports"] = final
    text = json.dumps(body, indent=1).replace("<", "\\u003c")
    if map_match is not None:
        old = map_match.group(0)
        new = f"{map_match.group(1)}{text}{map_match.group(3)}"
        return out.replace(old, new, 1)
    tag = f'<script type="importmap">{text}</script>'
    anchor = _CHARSET_RE.search(out) or _HEAD_RE.search(out)
    if anchor:
        return out[: anchor.end()] + tag + out[anchor.end() :]
    first = re.search(r"<script\b", out, re.I)
    pos = first.start() if first else 0
    return out[:pos] + tag + out[pos:]


def _is_type(open_tag: str, kind: str) -> bool:
    return any(k == "type" and (v or "").strip().lower() == kind for k, v in _attrs(open_tag))
