"""The line scanner under :class:`studio.core.extract.StreamingExtractor`.

Text arrives in arbitrary chunks; the scanner cuts it into lines and looks at each
completed line exactly once (so feeding is linear in the text), keeping the last,
still-growing line apart. It finds:

* fenced code blocks per CommonMark (backticks or tildes, 3+, up to 3 spaces indent; the
  closing fence uses the same char, is at least as long and carries no info string), plus an
  opening fence glued to prose ("...a button:```html<!DOCTYPE html>");
* inside an open block, "stray" fence lines with an info string (auto-continuation seams)
  are dropped from the source, as is the half line repeated just before such a seam;
* ``<think>...</think>`` reasoning, which is skipped entirely (also while still open);
* unfenced code: a bare HTML document (from ``<!DOCTYPE``/``<html`` to ``</html>``), a bare
  ``<svg>``, and runs of HTML markup or CSS rules written straight into the prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from studio.core.extract.sniff import CODE_LANGS, Features, filename_in, scan_line, sniff

_FENCE_RE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_GLUED_RE = re.compile(r"^(.*?[^`\s]\s*)(`{3,})([A-Za-z][\w+#.-]*)?(<.*)?$")
_TAG_SPLIT_RE = re.compile(r"^([A-Za-z][\w+#.-]*)(<.*)$")
_HEADING_RE = re.compile(r"^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_FRAG_START_RE = re.compile(
    r"^\s*<(div|p|span|button|img|a|ul|ol|li|h[1-6]|section|header|footer|nav|main|article|aside|form|"
    r"input|label|select|option|textarea|table|tr|td|th|thead|tbody|canvas|figure|figcaption|style|script|"
    r"link|meta|title|template|video|audio|iframe|pre|blockquote|details|summary|dialog|body|head)\b",
    re.I,
)
_CSS_START_RE = re.compile(r"^[A-Za-z.#*:\[@][^{};=]*\{\s*$")
_CSS_CONT_RE = re.compile(r"^[A-Za-z.#*:\[@][^{};=]*[,{]\s*$|^\s*\}")
_CSS_DECL_RE = re.compile(r"^\s*-{0,2}[a-zA-Z][\w-]*\s*:\s*[^;{}]*;?\s*$")
_JS_WORDS = (
    "function",
    "if ",
    "if(",
    "for ",
    "for(",
    "while",
    "const ",
    "let ",
    "var ",
    "class ",
    "return",
    "else",
)


@dataclass(slots=True)
class BlockState:
    """One code block as the scanner sees it (mutable; offsets are absolute in the answer).

    ``mode`` is "fence" for a fenced block, else "doc", "svg", "frag" or "css" for unfenced code.
    """

    mode: str
    tag: str
    start: int
    end: int
    fence_char: str = ""
    fence_len: int = 0
    closed: bool = False
    name: str = ""
    feats: Features = field(default_factory=Features)
    skips: list[tuple[int, int]] = field(default_factory=list)
    seam: tuple[int, int, str] | None = None
    last_line: tuple[int, int, str] | None = None
    raw_until: str = ""
    lang_cache: str = ""

    @property
    def fenced(self) -> bool:
        return self.mode == "fence"

    def lang(self) -> str:
        if self.mode in ("doc", "frag"):
            return "html"
        if self.mode == "svg":
            return "svg"
        if self.mode == "css":
            return "css"
        if self.closed and self.lang_cache:
            return self.lang_cache
        lang = sniff(self.tag, self.feats)
        if self.closed:
            self.lang_cache = lang
        return lang


class Scanner:
    """Cuts streamed text into lines and tracks blocks, think state and the first heading."""

    def __init__(self) -> None:
        self.blocks: list[BlockState] = []
        self.open: BlockState | None = None
        self.in_think = False
        self.think_seen = False
        self.heading: str | None = None
        self.headings: list[str] = []
        self.version = 0
        self.pos = 0
        self.pending: list[str] = []  # the growing last line, in pieces (joined once it completes)
        self.prose_lines: list[str] = []

    # -- feeding -------------------------------------------------------------------------

    def feed(self, delta: str) -> None:
        """Add text; every line completed by it is scanned once."""
        if "\n" not in delta:
            self.pending.append(delta)
            return
        self.pending.append(delta)
        buf = "".join(self.pending)
        start = 0
        while (nl := buf.find("\n", start)) >= 0:
            self._line(buf[start : nl + 1], self.pos)
            self.pos += nl + 1 - start
            start = nl + 1
        self.pending = [buf[start:]] if start < len(buf) else []

    def finish(self) -> None:
        """Scan the last line (which has no newline) and close unfenced runs at the end."""
        if self.pending:
            line, self.pending = "".join(self.pending), []
            self._line(line, self.pos, final=True)
            self.pos += len(line)
        if self.open is not None and self.open.mode in ("frag", "css"):
            self._end_run(self.open)
        self.version += 1

    # -- one line ------------------------------------------------------------------------

    def _line(self, line: str, at: int, final: bool = False) -> None:
        body = line.rstrip("\n").rstrip("\r")
        if self.in_think:
            i = body.find("</think>")
            if i < 0:
                return
            self.in_think = False
            self.version += 1
            rest = body[i + len("</think>") :]
            if rest.strip():
                self._line(rest, at + i + len("</think>"), final)
            return
        b = self.open
        if b is not None and b.fenced:
            self._fenced_line(b, body, at, len(line), final)
            return
        if b is not None and not self._run_line(b, body, at, len(line)):
            return
        self._prose_line(body, at, len(line))

    def _fenced_line(self, b: BlockState, body: str, at: int, size: int, final: bool) -> None:
        m = _FENCE_RE.match(body)
        if m:
            if m.group(2)[0] == b.fence_char and len(m.group(2)) >= b.fence_len and not m.group(3).strip():
                b.closed = True
                b.end = at
                self.open = None
                self.version += 1
                return
            if m.group(3).strip() and b.feats.doc_line and b.feats.html_close >= 0:
                # the document is over and a new block opens: its closing fence was left out
                b.closed = True
                b.end = at
                self.open = None
                self.version += 1
                self._prose_line(body, at, size)
                return
            if b.lang() in CODE_LANGS:  # a fence line is never html/css/js: a seam left it there
                self._stray(b, at, size)
                return
        if final and body.strip() and not body.strip().strip("`~"):
            return  # a half-written fence marker at the very end is not content
        if b.seam is not None:
            s_at, s_end, s_text = b.seam
            half, full = s_text.strip(), body.strip()
            if len(half) >= 3 and len(full) > len(half) and full.startswith(half) and half[-1] not in ";{}>":
                b.skips.insert(len(b.skips) - 1, (s_at, s_end))  # the half line the continuation repeats
            b.seam = None
        scan_line(b.feats, body, at)
        b.last_line = (at, at + size, body)
        b.end = at + size
        self.version += 1

    def _stray(self, b: BlockState, at: int, size: int) -> None:
        b.skips.append((at, at + size))
        b.seam = b.last_line
        self.version += 1

    def _run_line(self, b: BlockState, body: str, at: int, size: int) -> bool:
        """Feed a line to an unfenced run; True when the run ended and the line is prose."""
        low = body.lower()
        if b.mode in ("doc", "svg"):
            if _FENCE_RE.match(body):
                b.skips.append((at, at + size))  # a fence line inside an open bare document
                self.version += 1
                return False
            closer = "</html>" if b.mode == "doc" else "</svg>"
            scan_line(b.feats, body, at)
            i = low.find(closer)
            if i >= 0:
                b.end = at + i + len(closer)
                b.closed = True
                self.open = None
            else:
                b.end = at + size
            self.version += 1
            return False
        stripped = body.strip()
        if b.mode == "frag":
            if b.raw_until:
                ok = True
                if b.raw_until in low:
                    b.raw_until = ""
            else:
                ok = not stripped or stripped.startswith("<") or body[:1] in (" ", "\t")
                self._raw_mode(b, low)
        else:
            ok = (
                not stripped
                or body[:1] in (" ", "\t")
                or bool(_CSS_CONT_RE.match(body))
                or bool(_CSS_DECL_RE.match(body))
            )
        if not ok:
            self._end_run(b)
            return True
        if stripped:
            scan_line(b.feats, body, at)
            b.end = at + len(body)
            self.version += 1
        return False

    def _raw_mode(self, b: BlockState, low: str) -> None:
        for tag in ("script", "style"):
            if f"<{tag}" in low and f"</{tag}>" not in low[low.rfind(f"<{tag}") :]:
                b.raw_until = f"</{tag}>"

    def _end_run(self, b: BlockState) -> None:
        b.closed = True
        self.open = None
        if b.mode == "css" and not (b.feats.css_decl and b.feats.css_sel):
            self.blocks.remove(b)
        self.version += 1

    def _prose_line(self, body: str, at: int, size: int) -> None:
        lead = body.lstrip()
        if lead.startswith("<think>"):
            self.in_think = self.think_seen = True
            self.version += 1
            rest_at = at + (len(body) - len(lead)) + len("<think>")
            rest = lead[len("<think>") :]
            if "</think>" in rest:
                self._line(rest, rest_at)
            return
        m = _FENCE_RE.match(body)
        if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
            info = m.group(3).strip()
            content_at, glued = at + size, ""
            if (g := _TAG_SPLIT_RE.match(info)) is not None:
                info, glued = g.group(1), g.group(2)
                content_at = at + body.index(glued, len(m.group(1)) + len(m.group(2)))
            self._open_fence(m.group(2), info, content_at, glued, at + size)
            return
        if "```" in body or "~~~" in body:
            g2 = _GLUED_RE.match(body)
            glued = (g2.group(4) or "") if g2 else ""
            if g2 and (glued or g2.group(1).rstrip().endswith(":")) and "`" not in glued:
                content_at = at + len(body) - len(glued) if glued else at + size
                self._open_fence(g2.group(2), g2.group(3) or "", content_at, glued, at + size)
                return
        if body.strip():
            self.prose_lines = [*self.prose_lines[-2:], body]
        else:
            self.prose_lines = [*self.prose_lines[-2:], ""]
        h = _HEADING_RE.match(body)
        if h is not None:
            self.headings.append(h.group(1))
            self.version += 1
        if "</think>" in body and not self.think_seen:
            self._reasoning_ended()
            return
        low = lead.lower()
        if (
            low.startswith(("<!doctype html", "<html"))
            and (low[5:6] in (" ", ">", "") or low.startswith("<!"))
            and _markup_only(low)
        ):
            self._open_run("doc", at + len(body) - len(lead), body, at, size)
        elif low.startswith("<svg") and low[4:5] in (" ", ">", "") and _markup_only(low):
            self._open_run("svg", at + len(body) - len(lead), body, at, size)
        elif _FRAG_START_RE.match(body) and body.rstrip().endswith(">"):
            self._open_run("frag", at, body, at, size)
        elif _CSS_START_RE.match(body) and not lead.startswith(_JS_WORDS):
            self._open_run("css", at, body, at, size)

    def _reasoning_ended(self) -> None:
        """A ``</think>`` with no ``<think>`` (the template opened it): all so far was reasoning."""
        self.blocks.clear()
        self.headings.clear()
        self.prose_lines = []
        self.open = None
        self.think_seen = True
        self.version += 1

    def _open_fence(self, fence: str, info: str, content_at: int, glued: str, line_end: int) -> None:
        name = ""
        for prev in reversed(self.prose_lines[-2:]):
            if prev.strip():
                name = filename_in(prev)
                break
        self.prose_lines = []
        b = BlockState("fence", info, content_at, content_at, fence[0], len(fence), name=name)
        self.blocks.append(b)
        self.open = b
        self.version += 1
        if glued:
            scan_line(b.feats, glued, content_at)
            b.end = line_end
            b.last_line = (content_at, line_end, glued)

    def _open_run(self, mode: str, start: int, body: str, at: int, size: int) -> None:
        b = BlockState(mode, "", start, start)
        self.blocks.append(b)
        self.open = b
        if mode in ("doc", "svg"):
            self._run_line(b, body, at, size)
            return
        scan_line(b.feats, body, at)
        b.end = at + len(body)
        if mode == "frag":
            self._raw_mode(b, body.lower())
        self.version += 1


def _markup_only(low: str) -> bool:
    """True when a line that starts with a tag is markup, not prose ("<html> is the root...")."""
    end = low.find(">")
    return end < 0 or not low[end + 1 :].strip() or low[end + 1 :].lstrip().startswith("<")
