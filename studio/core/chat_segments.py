"""Split an assistant answer into what the chat shows: markdown, a thinking section, an artifact card.

The artifact's code is never dumped into the chat: the character ranges of the artifact's blocks
(widened to their fence lines) are cut out of the markdown and ONE card stands where the first
block was. SEARCH/REPLACE edit blocks are cut out the same way and ONE "patch" card (compact,
expandable) stands where the first was. A leading ``<think>...</think>`` section is cut out too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

SegmentKind = Literal["md", "think", "card", "patch"]

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"
_FENCE_LINE = re.compile(r"[ \t]{0,3}(`{3,}|~{3,})[^\n]*\n?")
_FENCE_ANY = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n]*$", re.M)
_EDIT_HEAD = re.compile(r"^[ \t]*<{5,9}[ \t]*SEARCH\b[^\n]*$", re.M)
_EDIT_TAIL = re.compile(r"^[ \t]*>{5,9}[ \t]*REPLACE\b[^\n]*$", re.M)
PROVISIONAL_LANGS = frozenset({"html", "htm", "xhtml", "svg", "jsx", "tsx"})
"""An open fence with one of these tags is shown as a card even before the extractor names it."""


class BlockLike(Protocol):
    """The fields of ``studio.core.extract.Block`` this module reads."""

    start: int
    end: int
    closed: bool


@dataclass(frozen=True, slots=True)
class Segment:
    """One piece of an answer as the chat shows it.

    Attributes:
        kind: "md" (markdown text), "think" (reasoning, collapsed), "card" (the artifact) or "patch"
            (the answer's edit blocks).
        start: offset of the piece in the answer (for "think": of the text inside the tags).
        end: end offset (exclusive).
        closed: for "think", whether ``</think>`` arrived.
    """

    kind: SegmentKind
    start: int
    end: int
    closed: bool = True


def think_range(text: str) -> tuple[int, int, int, bool] | None:
    """Find a leading ``<think>`` section.

    Args:
        text: the answer so far.

    Returns:
        ``(hidden_end, content_start, content_end, closed)`` where ``text[:hidden_end]`` is hidden
        from the markdown, or None when the answer does not start with ``<think>``. While only a
        prefix of ``<think>`` has arrived, the whole text is hidden (an empty open section).
    """
    stripped = text.lstrip()
    lead = len(text) - len(stripped)
    if not stripped:
        return None
    if not stripped.startswith(_THINK_OPEN):
        if _THINK_OPEN.startswith(stripped):
            return len(text), len(text), len(text), False
        return None
    content_start = lead + len(_THINK_OPEN)
    close = text.find(_THINK_CLOSE, content_start)
    if close < 0:
        # Hide a partial "</thi" at the end too.
        end = len(text)
        for k in range(len(_THINK_CLOSE) - 1, 0, -1):
            if text.endswith(_THINK_CLOSE[:k]):
                end -= k
                break
        return len(text), content_start, end, False
    return close + len(_THINK_CLOSE), content_start, close, True


def artifact_range(text: str, block: BlockLike) -> tuple[int, int]:
    """The characters of one artifact block, widened to its opening and closing fence lines.

    Args:
        text: the answer so far.
        block: a block with content offsets; an open block runs to the end of the text.

    Returns:
        ``(start, end)`` offsets to hide from the markdown.
    """
    start = max(0, min(block.start, len(text)))
    end = len(text) if not block.closed else max(start, min(block.end, len(text)))
    # Opening fence: the line just before the content.
    if start > 0 and text[start - 1] == "\n":
        line_start = text.rfind("\n", 0, start - 1) + 1
        if _FENCE_LINE.fullmatch(text, line_start, start):
            start = line_start
    elif start > 0:
        # Content starting mid-line right after a fence marker ("```html<!DOCTYPE...").
        line_start = text.rfind("\n", 0, start) + 1
        if text[line_start:start].lstrip(" \t").startswith(("```", "~~~")):
            start = line_start
    # Closing fence: the line just after the content.
    if block.closed and end < len(text):
        pos = end + 1 if text[end] == "\n" else end
        if pos > end or end == 0 or text[end - 1] == "\n":
            m = _FENCE_LINE.match(text, pos)
            if m and not text[pos : m.end()].strip().strip("`~"):
                end = m.end()
    return start, end


def edit_ranges(text: str, start: int = 0) -> list[tuple[int, int]]:
    """The characters of the SEARCH/REPLACE blocks in ``text[start:]``, with a fence around them.

    Blocks with only blank lines between them make one range; an unfinished block runs to the end.
    """
    out: list[tuple[int, int]] = []
    pos = start
    while (head := _EDIT_HEAD.search(text, pos)) is not None:
        tail = _EDIT_TAIL.search(text, head.end())
        end = len(text) if tail is None else min(len(text), tail.end() + 1)
        begin = head.start()
        if out and not text[out[-1][1] : begin].strip():
            begin = out.pop()[0]
        elif begin > 0:  # an opening fence line just before
            line = text.rfind("\n", 0, begin - 1) + 1
            if _FENCE_LINE.fullmatch(text, line, begin):
                begin = line
        out.append((begin, end))
        pos = end
        if tail is None:
            break
    if out and out[-1][1] < len(text):  # a closing fence line just after
        m = _FENCE_LINE.match(text, out[-1][1])
        if m and not text[out[-1][1] : m.end()].strip().strip("`~"):
            out[-1] = (out[-1][0], m.end())
    return out


def _merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(r for r in ranges if r[1] > r[0]):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def open_web_fence(text: str, start: int = 0) -> int | None:
    """Offset of the opening line of an unclosed fence at the end of ``text[start:]``.

    Only fences tagged with one of :data:`PROVISIONAL_LANGS` count.
    """
    opened: tuple[int, str, str] | None = None  # (line offset, marker, lang)
    for m in _FENCE_ANY.finditer(text, start):
        marker, info = m.group(1), m.group(2)
        if opened is None:
            opened = (m.start(), marker, info.lower())
        elif marker[0] == opened[1][0] and len(marker) >= len(opened[1]) and not info:
            opened = None
    if opened is not None and opened[2] in PROVISIONAL_LANGS:
        return opened[0]
    return None


def layout_segments(
    text: str, artifact_blocks: Sequence[BlockLike] = (), *, provisional: bool = False
) -> list[Segment]:
    """Split an answer into the pieces the chat shows, in order.

    Args:
        text: the answer so far.
        artifact_blocks: the blocks of the current artifact (``Extraction.artifact.blocks``).
        provisional: while streaming, also hide an open html/svg/jsx fence at the end (it becomes
            the card before the extractor has named it).

    Returns:
        Segments in text order. Whitespace-only markdown between hidden ranges is dropped.
    """
    hidden: list[tuple[int, int]] = []
    segments: list[Segment] = []
    think = think_range(text)
    body_start = 0
    if think is not None:
        hidden_end, c_start, c_end, closed = think
        segments.append(Segment("think", c_start, c_end, closed))
        hidden.append((0, hidden_end))
        body_start = hidden_end
    arts = _merge((max(s, body_start), e) for s, e in (artifact_range(text, b) for b in artifact_blocks))
    edits = edit_ranges(text, body_start) if _EDIT_HEAD.search(text, body_start) else []
    if edits:
        arts = [(s, e) for s, e in arts if not any(es <= s < ee for es, ee in edits)]  # a fenced patch
    if provisional:
        after = max([body_start, *(e for _, e in arts), *(e for _, e in edits)])
        fence = open_web_fence(text, after)
        if fence is not None:
            arts = _merge([*arts, (fence, len(text))])
    card_at = arts[0][0] if arts else -1
    patch_at = edits[0][0] if edits else -1
    hidden = _merge(hidden + arts + edits)
    pos = 0
    for s, e in hidden:
        if text[pos:s].strip():
            segments.append(Segment("md", pos, s))
        if s <= card_at < e:
            segments.append(Segment("card", card_at, e))
        elif s <= patch_at < e:
            segments.append(Segment("patch", patch_at, edits[-1][1]))
        pos = e
    if text[pos:].strip():
        segments.append(Segment("md", pos, len(text)))
    return segments
