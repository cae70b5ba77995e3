"""SEARCH/REPLACE edits (Aider's format) applied to the current version of an artifact.

A patch answer holds one or more blocks, bare or inside a code fence::

    <<<<<<< SEARCH
    lines copied from the current file
    =======
    the new lines
    >>>>>>> REPLACE

:class:`PatchStream` finds blocks as the answer streams (a block counts once its ``REPLACE`` line
is complete); :func:`apply_blocks` applies them in order, all or nothing: each SEARCH section is
looked up exactly, then tolerant of whitespace, then by a bounded close match
(:mod:`studio.core.patch_match`); a section found nowhere or in several places fails the patch and
is reported with its text. Line endings of the file are kept.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from studio.core.patch_match import Span, find_close, find_exact, find_whitespace, reindent, trim_blank

log = logging.getLogger(__name__)

_HEAD = re.compile(r"^\s*<{5,9}\s*SEARCH\b.*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_TAIL = re.compile(r"^\s*>{5,9}\s*REPLACE\b.*$")
_HEAD_ANYWHERE = re.compile(r"(?m)^[ \t]*<{5,9}[ \t]*SEARCH\b")


@dataclass(frozen=True, slots=True)
class EditBlock:
    """One SEARCH/REPLACE block (lines joined by "\\n", no final newline)."""

    search: str
    replace: str


@dataclass(slots=True)
class PatchResult:
    """What applying blocks to a source gave.

    Attributes:
        ok: every block applied.
        text: the new source when ok, else the original (never half-applied).
        applied: blocks that applied (those before and after a failing one included).
        failed: each failing block with one line saying why.
        added: lines added by the whole patch (0 when not ok).
        removed: lines removed by the whole patch (0 when not ok).
        how: per applied block, how it was found ("exact", "whitespace", "close", "substring").
    """

    ok: bool
    text: str
    applied: int = 0
    failed: list[tuple[EditBlock, str]] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    how: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One short line, e.g. "3 edits, +12 −4 lines" (or "1 of 3 edits failed")."""
        total = self.applied + len(self.failed)
        if not self.ok:
            return f"{len(self.failed)} of {total} edit{'s' if total != 1 else ''} failed"
        return f"{total} edit{'s' if total != 1 else ''}, +{self.added} \u2212{self.removed} lines"


def looks_like_patch(text: str) -> bool:
    """Whether an answer (so far) is a patch answer: it has a complete ``<<<<<<< SEARCH`` line."""
    return _HEAD_ANYWHERE.search(text) is not None


class PatchStream:
    """Finds SEARCH/REPLACE blocks in an answer as it streams.

    ``feed`` returns the blocks completed by that delta; ``finish`` the one completed by the last
    (unterminated) line. A block still open at the end is not returned: it is incomplete.
    """

    def __init__(self) -> None:
        self.blocks: list[EditBlock] = []
        self._partial = ""
        self._state = "out"  # "out", "search" or "replace"
        self._search: list[str] = []
        self._replace: list[str] = []
        self._pending_cr = False

    @property
    def in_block(self) -> bool:
        """True while a block has started but not ended."""
        return self._state != "out"

    @property
    def open_block(self) -> EditBlock | None:
        """The block started but not ended (what arrived of it), else None."""
        if self._state == "out":
            return None
        return EditBlock("\n".join(self._search), "\n".join(self._replace))

    def feed(self, delta: str) -> list[EditBlock]:
        """Add streamed text; returns the blocks that this text completed."""
        if self._pending_cr and delta.startswith("\n"):
            delta = delta[1:]  # the "\n" of a "\r\n" split across deltas
        self._pending_cr = delta.endswith("\r")
        text = self._partial + delta.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        self._partial = lines.pop()
        out: list[EditBlock] = []
        for line in lines:
            self._line(line, out)
        return out

    def finish(self) -> list[EditBlock]:
        """End of the answer: the last line counts even without a newline."""
        out: list[EditBlock] = []
        if self._partial:
            line, self._partial = self._partial, ""
            self._line(line, out)
        return out

    def _line(self, line: str, out: list[EditBlock]) -> None:
        if _HEAD.match(line):
            if self._state != "out":
                log.debug("a SEARCH line inside an open block: starting again there")
            self._state, self._search, self._replace = "search", [], []
        elif self._state == "search":
            if _DIVIDER.match(line):
                self._state = "replace"
            else:
                self._search.append(line)
        elif self._state == "replace":
            if _TAIL.match(line):
                block = EditBlock("\n".join(self._search), "\n".join(self._replace))
                self.blocks.append(block)
                out.append(block)
                self._state = "out"
            else:
                self._replace.append(line)


def parse_blocks(text: str) -> list[EditBlock]:
    """Every complete SEARCH/REPLACE block in a whole answer, in order."""
    stream = PatchStream()
    stream.feed(text)
    stream.finish()
    return stream.blocks


def _where(spans: Sequence[Span]) -> str:
    lines = ", ".join(str(s.start + 1) for s in spans[:5])
    return f"lines {lines}" + (" ..." if len(spans) > 5 else "")


def _replacement(lines: list[str], span: Span, search: list[str], replace: list[str]) -> list[str]:
    """The REPLACE lines to put at ``span``: blank edges trimmed like the SEARCH's, re-indented."""
    new = list(replace)
    if span.how != "exact" or span.end - span.start != len(search):
        core, lead = trim_blank(search)  # the span matched the SEARCH without its blank edges
        trail = len(search) - lead - len(core)
        while lead and new and not new[0].strip():
            new.pop(0)
            lead -= 1
        while trail and new and not new[-1].strip():
            new.pop()
            trail -= 1
    if span.how == "exact":
        return new
    ref = next((s for s in search if s.strip()), "")
    return reindent(new, ref, lines[span.start])


def _apply_one(text: str, block: EditBlock) -> tuple[str | None, str]:
    """The text with one block applied, and how it was found; (None, reason) when it fails."""
    if not block.search.strip():
        if not text.strip():
            return block.replace + ("\n" if block.replace else ""), "exact"
        return None, "the SEARCH section is empty"
    lines = text.split("\n")
    search = block.search.split("\n")
    replace = block.replace.split("\n") if block.replace else []
    spans = find_exact(lines, search)
    if not spans:
        count = text.count(block.search)
        if count == 1:
            return text.replace(block.search, block.replace, 1), "substring"
        if count > 1:
            return None, f"the SEARCH text matches {count} places in the current file"
        spans = find_whitespace(lines, search) or find_close(lines, search)
    if not spans:
        return None, "the SEARCH text matches nothing in the current file"
    if len(spans) > 1:
        return None, f"the SEARCH text matches {len(spans)} places in the current file ({_where(spans)})"
    span = spans[0]
    lines[span.start : span.end] = _replacement(lines, span, search, replace)
    return "\n".join(lines), span.how


def line_changes(old: str, new: str) -> tuple[int, int]:
    """Lines added and removed between two texts."""
    added = removed = 0
    sm = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag != "equal":
            removed += i2 - i1
            added += j2 - j1
    return added, removed


def apply_blocks(source: str, blocks: Sequence[EditBlock]) -> PatchResult:
    """Apply blocks in order, all or nothing.

    Each block is applied to the text the blocks before it produced. Every block is tried (so every
    failure is reported), but when any fails the result keeps the original source.

    Args:
        source: the current version's source.
        blocks: the edits, as parsed.

    Returns:
        The outcome; ``text`` is the original source unless ``ok``.
    """
    crlf = "\r\n" in source
    text = source.replace("\r\n", "\n") if crlf else source
    result = PatchResult(ok=False, text=source)
    for block in blocks:
        new, how = _apply_one(text, block)
        if new is None:
            result.failed.append((block, how))
            log.info("edit block failed: %s", how)
            continue
        text = new
        result.applied += 1
        result.how.append(how)
    if result.failed or not blocks:
        return result
    result.ok = True
    result.text = text.replace("\n", "\r\n") if crlf else text
    result.added, result.removed = line_changes(source.replace("\r\n", "\n"), text)
    return result


def failure_report(result: PatchResult, limit: int = 600) -> str:
    """The failed blocks as the user and the model read them: the reason, then the SEARCH text."""
    parts = []
    for block, reason in result.failed:
        search = block.search if len(block.search) <= limit else block.search[:limit] + "\n..."
        parts.append(f"- {reason}:\n```\n{search}\n```")
    return "\n".join(parts)
