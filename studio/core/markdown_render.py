"""Untrusted model markdown -> HTML for the chat, rendered incrementally while it streams.

Raw HTML in the markdown is escaped, images become their alt text (nothing is ever fetched),
code blocks are highlighted with pygments and carry a language label and a copy link. The
HTML uses the subset Qt's rich text engine understands (tables with ``bgcolor``, inline styles).

:class:`IncrementalRenderer` keeps every top-level block but the last as finished HTML and only
re-parses the tail (the last block, which may still grow). Appending text never changes how an
earlier top-level block parses once a later block has started, so the concatenation of the pieces
equals :func:`render_markdown` of the whole text (the unit tests check this on real answers).
"""

from __future__ import annotations

import functools
import hashlib
import html
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight as pyg_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from studio.core.codetheme import CODE_THEMES, code_theme

log = logging.getLogger(__name__)

MAX_HIGHLIGHT_CHARS = 60_000
"""Longer code blocks are shown unhighlighted (pygments cost grows with the block)."""
HIGHLIGHT_CHUNK_LINES = 24
"""Code is highlighted in chunks of this many lines (a lexer restarts at each chunk)."""
COPY_SCHEME = "copy:"
"""Links ``copy:<key>`` in the HTML ask the view to copy the code block ``codes[key]``."""

_LANG_ALIASES = {"js": "javascript", "ts": "typescript", "sh": "bash", "shell": "bash", "py": "python"}


def _code_bg() -> str:
    return CODE_THEMES[code_theme()][1]


@functools.cache
def _formatter(theme: str) -> HtmlFormatter:
    return HtmlFormatter(nowrap=True, noclasses=True, style=CODE_THEMES[theme][0])


@functools.lru_cache(maxsize=64)
def _lexer(lang: str) -> Lexer | None:
    try:
        return get_lexer_by_name(_LANG_ALIASES.get(lang, lang), stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def code_chunks(code: str) -> list[str]:
    """Split a code block (without its final newline) into chunks of :data:`HIGHLIGHT_CHUNK_LINES`."""
    lines = code.splitlines(keepends=True) or [""]
    return [
        "".join(lines[i : i + HIGHLIGHT_CHUNK_LINES]) for i in range(0, len(lines), HIGHLIGHT_CHUNK_LINES)
    ]


def highlight_code(code: str, lang: str) -> str:
    """Highlight ``code`` as HTML spans with inline colours (escaped text when the language is unknown).

    Code is highlighted in fixed line chunks, each once and cached, so a growing block costs only
    its last chunk (a lexer restarts at each chunk boundary).

    Args:
        code: the code block's text.
        lang: the fence's language tag ("" when none).

    Returns:
        HTML for the inside of a ``<pre>`` element.
    """
    return "".join(_highlight_chunk(chunk, lang.lower()) for chunk in code_chunks(code))


def _highlight_chunk(chunk: str, lang: str) -> str:
    return _highlight_themed(chunk, lang, code_theme())


@functools.lru_cache(maxsize=1024)
def _highlight_themed(chunk: str, lang: str, theme: str) -> str:
    lexer = _lexer(lang) if lang else None
    if lexer is None or not chunk or len(chunk) > MAX_HIGHLIGHT_CHARS:
        return html.escape(chunk, quote=False)
    # No italics: Qt falls back to another font for italic monospace, with taller lines.
    out = pyg_highlight(chunk, lexer, _formatter(theme)).replace("; font-style: italic", "")
    out = out.replace(' style="font-style: italic"', "")
    # Pygments may add or drop the final newline; keep the chunk's own.
    return out.removesuffix("\n") + ("\n" if chunk.endswith("\n") else "")


def code_key(code: str) -> str:
    """The key a code block's copy link uses (stable for equal code)."""
    return hashlib.blake2s(code.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()


def _fence_html(code: str, lang: str, env: EnvType, skip: int = 0) -> str:
    """A code block as one table per line chunk (so a growing block can be shown chunk by chunk).

    Args:
        code: the block's content.
        lang: its language tag.
        env: the render env; ``env["codes"]`` gets the copy key.
        skip: leave out the first ``skip`` chunks (already shown).
    """
    key = code_key(code)
    codes = env.get("codes")
    if isinstance(codes, dict):
        codes[key] = code
    chunks = code_chunks(code.removesuffix("\n"))
    label = html.escape(lang or "code")
    copy = f'<a href="{COPY_SCHEME}{key}">Copy</a>'
    out = []
    for i in range(skip, len(chunks)):
        first, last = i == 0, i == len(chunks) - 1
        out.append(_chunk_table(_highlight_chunk(chunks[i], lang.lower()), label, copy, first, last))
    return "".join(out)


def _chunk_table(body: str, label: str, copy: str, first: bool, last: bool) -> str:
    rows = []
    if first:
        head = f"{label}&nbsp;&nbsp;{copy}" if last else label
        rows.append(f'<tr><td class="codehead" style="padding: 6px 8px 2px 8px">{head}</td></tr>')
    pad = f"padding: 0px 8px {6 if last else 0}px 8px"
    rows.append(f'<tr><td style="{pad}"><pre class="code">{body.removesuffix(chr(10))}</pre></td></tr>')
    if last and not first:
        rows.append(
            f'<tr><td class="codehead" align="right" style="padding: 0px 8px 4px 8px">{copy}</td></tr>'
        )
    margins = f"margin-top: {4 if first else 0}px; margin-bottom: {10 if last else 0}px"
    return (
        f'<table width="100%" cellspacing="0" cellpadding="0" bgcolor="{_code_bg()}" style="{margins}">'
        + "".join(rows)
        + "</table>\n"
    )


def _render_fence(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    return _fence_html(token.content, _fence_lang(token), env)


def _render_code_block(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return _fence_html(tokens[idx].content, "", env)


def _render_image(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # Never load an image named by the model: show its alt text instead.
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    return f'<span class="img">[image: {html.escape(alt)}]</span>'


def _render_code_inline(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return f'<code style="background-color:{_code_bg()}">{html.escape(tokens[idx].content)}</code>'


def _render_table_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return '<table border="1" cellspacing="0" cellpadding="4" class="md">\n'


@functools.cache
def make_markdown() -> MarkdownIt:
    """The shared markdown-it instance: CommonMark + tables + strikethrough, raw HTML off.

    Link reference definitions are off too: a definition later in the text would otherwise
    change how earlier, already rendered text looks.
    """
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable(["reference", "html_block", "html_inline"])
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("code_block", _render_code_block)
    md.add_render_rule("image", _render_image)
    md.add_render_rule("code_inline", _render_code_inline)
    md.add_render_rule("table_open", _render_table_open)
    return md


def render_markdown(text: str, codes: dict[str, str] | None = None) -> str:
    """Render a whole markdown text at once.

    Args:
        text: untrusted markdown.
        codes: filled with ``code_key -> code`` for each code block's copy link.

    Returns:
        HTML (Qt rich-text subset).
    """
    env: dict[str, Any] = {"codes": codes if codes is not None else {}}
    return make_markdown().render(text, env)


@dataclass(slots=True)
class RenderStep:
    """What changed after :meth:`IncrementalRenderer.set_text`.

    Attributes:
        reset: the earlier stable HTML no longer holds; drop it (``appended`` then has all of it).
        appended: HTML of blocks that just became stable, to add once after the earlier ones.
        tail: HTML of the last (still growing) block; replaces the previous tail.
        pieces: ``appended`` split at top-level block boundaries (``"".join(pieces) == appended``).
    """

    reset: bool
    appended: str
    tail: str
    pieces: list[str] = field(default_factory=list)


@dataclass(slots=True)
class IncrementalRenderer:
    """Render a growing markdown text, re-parsing only its last top-level block.

    Attributes:
        codes: ``code_key -> code`` for every code block rendered so far.
    """

    codes: dict[str, str] = field(default_factory=dict)
    _text: str = ""
    _stable_end: int = 0
    _stable: list[str] = field(default_factory=list)
    _tail: str = ""
    _shown_chunks: int = 0

    @property
    def stable_end(self) -> int:
        """Characters of the text whose HTML is final."""
        return self._stable_end

    def html(self) -> str:
        """The HTML of the whole text so far (equals ``render_markdown(text)``)."""
        return "".join(self._stable) + self._tail

    def set_text(self, text: str) -> RenderStep:
        """Update to the current full text (usually the previous text plus a delta).

        Args:
            text: the whole markdown text so far.

        Returns:
            The change to apply to a view.
        """
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        reset = False
        if not text.startswith(self._text[: self._stable_end]):
            # The text was edited before the stable boundary: start over.
            reset = True
            self._stable_end = 0
            self._stable.clear()
            self._shown_chunks = 0
        self._text = text
        md = make_markdown()
        env: dict[str, Any] = {"codes": self.codes}
        tail_text = text[self._stable_end :]
        tokens = md.parse(tail_text, env)
        starts = [i for i, t in enumerate(tokens) if t.level == 0 and t.nesting >= 0 and t.map]
        pieces: list[str] = []
        # The last block's type is only known once its first line is complete ("2" vs "2. item").
        if starts and not _first_line_complete(tail_text, tokens[starts[-1]]):
            starts.pop()
        if len(starts) > 1:
            cut = starts[-1]
            cut_map = tokens[cut].map
            line = cut_map[0] if cut_map else 0
            bounds = [i for i in starts if i < cut] + [cut]
            if bounds[0] != 0:
                bounds.insert(0, 0)
            pieces.append(self._render(tokens[: bounds[1]], env))
            self._shown_chunks = 0
            pieces.extend(self._render(tokens[a:b], env) for a, b in itertools.pairwise(bounds[1:]))
            self._stable_end += _line_offset(tail_text, line)
            tokens = tokens[cut:]
        # A long code block still being written: its finished line chunks become stable too.
        first = tokens[0] if tokens else None
        if first is not None and first.type in _CODE_TYPES and first.level == 0:
            complete_lines = first.content.count("\n")
            n_chunks = len(code_chunks(first.content.removesuffix("\n")))
            ready = min(max(0, (complete_lines - 1) // HIGHLIGHT_CHUNK_LINES), n_chunks - 1)
            if ready > self._shown_chunks:
                lang = _fence_lang(first)
                label = html.escape(lang or "code")
                chunks = code_chunks(first.content.removesuffix("\n"))
                pieces.append(
                    "".join(
                        _chunk_table(_highlight_chunk(chunks[i], lang.lower()), label, "", i == 0, False)
                        for i in range(self._shown_chunks, ready)
                    )
                )
                self._shown_chunks = ready
        pieces = [p for p in pieces if p]
        self._stable.extend(pieces)
        self._tail = self._render(tokens, env)
        if reset:
            pieces = list(self._stable)
        return RenderStep(reset=reset, appended="".join(pieces), tail=self._tail, pieces=pieces)

    def _render(self, tokens: Sequence[Token], env: EnvType) -> str:
        """Render tokens, leaving out the code chunks of the first block already shown."""
        md = make_markdown()
        if self._shown_chunks and tokens and tokens[0].type in _CODE_TYPES:
            head = _fence_html(tokens[0].content, _fence_lang(tokens[0]), env, skip=self._shown_chunks)
            return head + md.renderer.render(tokens[1:], md.options, env)
        return md.renderer.render(tokens, md.options, env)


_CODE_TYPES = frozenset({"fence", "code_block"})


def _fence_lang(token: Token) -> str:
    info = token.info.strip() if token.type == "fence" else ""
    return info.split(maxsplit=1)[0] if info else ""


def _line_offset(text: str, line: int) -> int:
    """Character offset where 0-based ``line`` starts in ``text``."""
    pos = 0
    for _ in range(line):
        nl = text.find("\n", pos)
        if nl < 0:
            return len(text)
        pos = nl + 1
    return pos


def _first_line_complete(text: str, token: Token) -> bool:
    """Whether the first line of ``token``'s block ends with a newline in ``text``."""
    line = token.map[0] if token.map else 0
    return text.find("\n", _line_offset(text, line)) >= 0
