"""Choose the artifact among an answer's blocks and assemble its source.

Decisions (each from how real models answer; see ../shared/corpus):

1. A complete HTML document wins over everything else; when several are written (a model
   re-emitting revised versions) the LAST one is the artifact, even when it is cut off.
   Its ``<link rel=stylesheet href=X>`` / ``<script src=X>`` are replaced inline by the css/js
   block named X (by a label such as "### CSS (styles.css)" or a first-line comment), or by the
   only css/js block of the answer; other css/js blocks are inlined at the end of head / body,
   except ones quoted verbatim from the document and server-side (Node) JavaScript.
2. Else a React component (imports from "react", or JSX with ``export default``): the last one.
3. Else HTML fragments (and inline <svg>) with css/js blocks are wrapped into one document.
   A later fragment whose tag sequence re-occurs in an earlier one is a revision of that part
   and is spliced in its place (step-by-step answers that add ids in a last step); the css
   blocks are kept in order, since the cascade already lets later rules win.
4. Else a lone ``<svg>``: kind svg (the last one).
5. Else browser JavaScript alone: a host page with the elements it looks up by id
   (a <canvas> when the id or the code says canvas), then the code.
6. Else no artifact, with a plain reason.

Unfenced fragments and CSS recovered from prose count only when the answer has no fenced
renderable block.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from studio.core.extract.scan import BlockState
from studio.core.extract.sniff import is_local_ref
from studio.core.extract.types import Artifact, ArtifactKind, Block, Extraction

RENDERABLE = frozenset({"html", "svg", "css", "js", "jsx", "tsx"})
_GENERIC_HEADINGS = re.compile(
    r"^(?:step\b.*|approach|solution(?: code)?|explanation|html|css|javascript|js|code|the code|features|"
    r"key features|example|usage|how it works|how to use|notes?|summary|conclusion|output|result|overview|"
    r"implementation|instructions|setup|demo|html structure|css styling|javascript functionality|"
    r"(?:html|css|javascript|js)\b.*\.\w+.*)$",
    re.I,
)
_START_TAG_RE = re.compile(r"<([a-zA-Z][\w-]*)")
_CLOSE_TAG_RE = re.compile(r"</([a-zA-Z][\w-]*)\s*>")
_COMPONENT_RE = re.compile(r"export\s+default\s+(?:function|class)?\s*([A-Z]\w*)")
_LANG_NAMES = {
    "python": "Python",
    "bash": "shell",
    "json": "JSON",
    "css": "CSS",
    "ts": "TypeScript",
    "js": "JavaScript",
}


@dataclass(slots=True)
class View:
    """A block as of this snapshot: the scanner's state plus its visible end and language."""

    state: BlockState
    lang: str
    end: int
    closed: bool

    @property
    def block(self) -> Block:
        return Block(self.lang, self.state.tag, self.state.start, self.end, self.closed)

    @property
    def name(self) -> str:
        return self.state.name or self.state.feats.file_name

    def content(self, text: str) -> str:
        """The block's text without the dropped (stray fence) lines."""
        start, end = self.state.start, self.end
        parts: list[str] = []
        for s, e in self.state.skips:
            if s >= end:
                break
            if s >= start:
                parts.append(text[start:s])
                start = e
        parts.append(text[start:end])
        return "".join(parts)


def build(text: str, views: list[View], headings: list[str], *, final: bool, thinking: bool) -> Extraction:
    """Pick and assemble the artifact.

    Args:
        text: the answer so far.
        views: every block, in answer order.
        headings: the answer's markdown headings so far, in order.
        final: the answer has ended.
        thinking: the answer is inside an unclosed ``<think>``.

    Returns:
        The extraction.
    """
    blocks = tuple(v.block for v in views)
    live = [v for v in views if v.state.feats.head.strip() or v.content(text).strip()]
    if any(v.state.fenced and v.lang in RENDERABLE for v in live):
        live = [v for v in live if v.state.fenced or v.state.mode in ("doc", "svg")]
    docs = [v for v in live if v.lang == "html" and (v.state.mode == "doc" or v.state.feats.doc_line)]
    css = [v for v in live if v.lang == "css"]
    js = [v for v in live if v.lang == "js" and not v.state.feats.node]
    react = [v for v in live if v.lang in ("jsx", "tsx")]
    frags = [v for v in live if v.lang in ("html", "svg") and v not in docs]
    art: Artifact | None = None
    if docs:
        art = _document(text, docs[-1], css, js, headings, final)
    elif react:
        v = react[-1]
        src = v.content(text)
        m = _COMPONENT_RE.search(src)
        title = _heading_title(headings) or (m.group(1) if m else "React component")
        art = _make("react", title, src, [v], final)
    elif any(v.lang == "html" for v in frags):
        art = _wrap_fragments(text, frags, css, js, headings, final)
    elif frags:
        v = frags[-1]
        art = _make("svg", _heading_title(headings) or "SVG image", v.content(text), [v], final)
    else:
        hosted = [v for v in js if v.state.feats.browser]
        if hosted:
            art = _js_host(text, hosted, css, headings, final)
    if art is not None:
        return Extraction(art, "", blocks)
    return Extraction(None, _reason(text, live, thinking), blocks)


def _make(
    kind: ArtifactKind, title: str, source: str, used: list[View], final: bool, doc_closed: bool = True
) -> Artifact:
    used = sorted(used, key=lambda v: v.state.start)
    closed = all(v.closed for v in used)
    return Artifact(
        kind=kind,
        title=title,
        source=source,
        complete=closed and doc_closed,
        truncated=final and not closed,
        blocks=tuple(v.block for v in used),
    )


def _heading_title(headings: list[str]) -> str:
    for h in headings:
        clean = re.sub(r"[*_`]+", "", h).strip().rstrip(":").strip()
        if clean and not _GENERIC_HEADINGS.match(clean):
            return clean
    return ""


_PAGE_HEADING = re.compile(r"<h[12]\b[^>]*>(.*?)</h[12]\s*>", re.S | re.I)


def _page_heading(source: str) -> str:
    """The text of the page's first <h1>/<h2> (tags stripped), or ""."""
    m = _PAGE_HEADING.search(source)
    if not m:
        return ""
    text = html.unescape(re.sub(r"<[^>]*>", "", m.group(1)))
    return " ".join(text.split())[:80]


def _title(found: str | None, headings: list[str], fallback: str, source: str = "") -> str:
    """<title>, else the answer's first telling heading, else the page's first heading, else ``fallback``."""
    if found:
        return html.unescape(found)
    return _heading_title(headings) or _page_heading(source) or fallback


def _quoted(text: str, v: View, doc: str) -> bool:
    body = v.content(text).strip()
    return len(body) > 0 and body in doc


def _pick(pool: list[View], ref: str) -> View | None:
    name = ref.split("?")[0].split("#")[0].rstrip("/").rsplit("/", 1)[-1].lower()
    for v in pool:
        if v.name and v.name == name:
            return v
    unnamed = [v for v in pool if not v.name or v.name == name]
    return unnamed[0] if len(pool) == 1 and unnamed else None


def _document(
    text: str, base: View, css: list[View], js: list[View], headings: list[str], final: bool
) -> Artifact:
    f, start, end = base.state.feats, base.state.start, base.end
    doc_text = text[start:end] if css or js else ""
    css_pool = [v for v in css if not _quoted(text, v, doc_text)]
    js_pool = [v for v in js if not _quoted(text, v, doc_text)]
    used = [base]
    edits: list[tuple[int, int, str]] = [(s, e, "") for s, e in base.state.skips if start <= s < end]
    for s, e, href in f.links:
        if e <= end and is_local_ref(href) and (v := _pick(css_pool, href)) is not None:
            css_pool.remove(v)
            used.append(v)
            edits.append((s, e, f"<style>\n{v.content(text)}</style>"))
    for s, e, src, attrs in f.scripts:
        if e <= end and is_local_ref(src) and (v := _pick(js_pool, src)) is not None:
            js_pool.remove(v)
            used.append(v)
            edits.append((s, e, f"<script{' ' + attrs if attrs else ''}>\n{v.content(text)}</script>"))
    if css_pool:
        at = next((p for p in (f.head_close, f.head_open_end, f.html_open_end) if start <= p <= end), start)
        edits.append((at, at, "".join(f"<style>\n{v.content(text)}</style>\n" for v in css_pool)))
        used += css_pool
    if js_pool:
        close = f.html_close - len("</html>") if f.html_close > 0 else -1
        at = next((p for p in (f.body_close, close) if start <= p <= end), end)
        edits.append((at, at, "".join(f"<script>\n{v.content(text)}</script>\n" for v in js_pool)))
        used += js_pool
    source = _apply(text, start, end, edits)
    doc_closed = start < f.html_close <= end
    return _make("html", _title(f.title, headings, "HTML page", source), source, used, final, doc_closed)


def _apply(text: str, start: int, end: int, edits: list[tuple[int, int, str]]) -> str:
    if not edits:
        return text[start:end]
    parts: list[str] = []
    pos = start
    for s, e, rep in sorted(edits, key=lambda t: (t[0], t[1])):
        if s < pos:
            continue
        parts.append(text[pos:s])
        parts.append(rep)
        pos = e
    parts.append(text[pos:end])
    return "".join(parts)


def _page(title: str, css: str, body: str, scripts: list[str]) -> str:
    style = f"<style>\n{css}</style>\n" if css.strip() else ""
    js = "".join(f"<script>\n{s}</script>\n" for s in scripts)
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n{style}</head>\n<body>\n{body}\n{js}</body>\n</html>\n"
    )


def _splice(older: str, newer: str) -> str | None:
    """``older`` with ``newer`` in place of the part it revises, or None when it revises nothing."""
    new_tags = [m.group(1).lower() for m in _START_TAG_RE.finditer(newer)]
    if len(new_tags) < 2:
        return None
    old = [(m.group(1).lower(), m.start(), m.end()) for m in _START_TAG_RE.finditer(older)]
    names = [t[0] for t in old]
    n = len(new_tags)
    for i in range(len(names) - n, -1, -1):
        if names[i : i + n] == new_tags:
            last_close = _CLOSE_TAG_RE.findall(newer)
            closer = (last_close[-1] if last_close else new_tags[-1]).lower()
            after = old[i + n - 1][2]
            m = re.compile(rf"</{re.escape(closer)}\s*>", re.I).search(older, after)
            stop = m.end() if m else older.find(">", after) + 1 or after
            return older[: old[i][1]] + newer.strip() + older[stop:]
    return None


def _wrap_fragments(
    text: str, frags: list[View], css: list[View], js: list[View], headings: list[str], final: bool
) -> Artifact:
    kept: list[str] = []
    for v in frags:
        piece = v.content(text).strip("\r\n")
        for k in range(len(kept) - 1, -1, -1):
            spliced = _splice(kept[k], piece)
            if spliced is not None:
                kept[k] = spliced
                break
        else:
            kept.append(piece)
    title = next((v.state.feats.title for v in frags if v.state.feats.title), None)
    title = _title(title, headings, "HTML page", "\n".join(kept))
    page = _page(title, "".join(v.content(text) for v in css), "\n".join(kept), [v.content(text) for v in js])
    return _make("html", title, page, frags + css + js, final)


def _js_host(text: str, js: list[View], css: list[View], headings: list[str], final: bool) -> Artifact:
    elems: list[str] = []
    code = "".join(v.content(text) for v in js)
    for ident in dict.fromkeys(i for v in js for i in v.state.feats.ids):
        if "canvas" in ident.lower() or _is_canvas(ident, code):
            elems.append(f'<canvas id="{html.escape(ident)}" width="640" height="480"></canvas>')
        else:
            elems.append(f'<div id="{html.escape(ident)}"></div>')
    title = _title(None, headings, "JavaScript demo")
    page = _page(
        title, "".join(v.content(text) for v in css), "\n".join(elems), [v.content(text) for v in js]
    )
    return _make("html", title, page, js + css, final)


def _is_canvas(ident: str, code: str) -> bool:
    """True when the code calls getContext on the element with this id."""
    q = re.escape(ident)
    lookup = rf"""(?:getElementById\(\s*["']{q}["']\s*\)|querySelector\(\s*["']#{q}["']\s*\))"""
    if re.search(lookup + r"\s*\.getContext", code):
        return True
    m = re.search(rf"(\w+)\s*=\s*document\.{lookup}", code)
    return bool(m and re.search(rf"\b{re.escape(m.group(1))}\.getContext", code))


def _reason(text: str, live: list[View], thinking: bool) -> str:
    if not text.strip():
        return "the answer is empty"
    if thinking:
        return "the model is still reasoning (inside <think>)"
    langs = {v.lang for v in live}
    if not langs:
        return "no renderable artifact in the answer"
    if langs == {"css"}:
        return "the answer holds only CSS, with no markup to show"
    if langs <= {"js", "ts"}:
        return "the answer holds only JavaScript that does not use a web page"
    if len(langs) == 1:
        (lang,) = langs
        return f"the answer holds only {_LANG_NAMES.get(lang, lang)} code"
    return "no renderable artifact in the answer"
