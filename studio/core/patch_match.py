"""Where a SEARCH section sits in a file: exact, then whitespace-tolerant, then a close match.

Plain functions over lists of lines (no line endings). Each finder returns the spans it found;
:func:`locate` runs them in order and stops at the first that finds anything, so an exact match is
never second-guessed by a looser one. The close-match search is bounded: it compares the windows where some
SEARCH line appears as it is (every window only in small files), skips those whose cheap similarity
bounds cannot pass, and gives up on very large files.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

CLOSE_RATIO = 0.88  # how similar a window must be to the SEARCH lines to count as a close match
CLOSE_MARGIN = 0.04  # the best window must beat the next best by this much, else it is ambiguous
MAX_CLOSE_WORK = 4_000_000  # characters compared at most by the close-match search
MAX_UNANCHORED_WORK = 150_000  # the same when no SEARCH line is found as it is (every window is tried)


@dataclass(frozen=True, slots=True)
class Span:
    """Lines ``start`` (inclusive) to ``end`` (exclusive) of the file, found by ``how``.

    Attributes:
        start: first line (0-based).
        end: one past the last line.
        how: "exact", "whitespace" or "close".
        search_first: index of the SEARCH line that lines up with ``start`` (indentation reference).
    """

    start: int
    end: int
    how: str
    search_first: int = 0


def _squash(line: str) -> str:
    """A line with its whitespace runs collapsed and its edges stripped."""
    return " ".join(line.split())


def trim_blank(lines: list[str]) -> tuple[list[str], int]:
    """Lines without blank lines at either end, and how many were dropped at the start."""
    lo, hi = 0, len(lines)
    while lo < hi and not lines[lo].strip():
        lo += 1
    while hi > lo and not lines[hi - 1].strip():
        hi -= 1
    return lines[lo:hi], lo


def _windows(src: list[str], pat: list[str]) -> list[int]:
    n = len(pat)
    if n == 0 or n > len(src):
        return []
    first = pat[0]
    return [i for i in range(len(src) - n + 1) if src[i] == first and src[i : i + n] == pat]


def find_exact(src: list[str], search: list[str]) -> list[Span]:
    """Every place the SEARCH lines appear exactly (blank edge lines ignored when that fails)."""
    found = [Span(i, i + len(search), "exact") for i in _windows(src, search)]
    if found:
        return found
    core, lo = trim_blank(search)
    if core and len(core) != len(search):
        return [Span(i, i + len(core), "exact", lo) for i in _windows(src, core)]
    return []


def find_whitespace(src: list[str], search: list[str]) -> list[Span]:
    """Every place the SEARCH lines appear when whitespace runs and blank edge lines are ignored."""
    core, lo = trim_blank(search)
    if not core:
        return []
    return [
        Span(i, i + len(core), "whitespace", lo)
        for i in _windows([_squash(s) for s in src], [_squash(s) for s in core])
    ]


def _anchored_starts(squashed: list[str], core: list[str]) -> list[int]:
    """Window starts that line up some distinctive SEARCH line with an identical file line."""
    at: dict[str, list[int]] = {}
    for j, line in enumerate(core):
        if len(line) >= 6:  # "}", "</div>" and the like anchor nothing
            at.setdefault(line, []).append(j)
    starts: set[int] = set()
    for i, line in enumerate(squashed):
        for j in at.get(line, ()):
            starts.update((i - j - 1, i - j, i - j + 1))
    return sorted(k for k in starts if k >= 0)


def find_close(src: list[str], search: list[str]) -> list[Span]:
    """The window most like the SEARCH lines (difflib ratio >= CLOSE_RATIO); two when it is a tie."""
    core, lo = trim_blank(search)
    if not core:
        return []
    n = len(core)
    target = "\n".join(_squash(s) for s in core)
    squashed = [_squash(s) for s in src]
    sizes = sorted({max(1, n - 1), n, n + 1}, key=lambda k: abs(k - n))
    if len(target) * len(src) * len(sizes) > MAX_CLOSE_WORK:
        log.debug("close-match search skipped: %d lines x %d chars is too much", len(src), len(target))
        return []
    starts = _anchored_starts(squashed, [_squash(s) for s in core])
    if not starts and len(target) * len(src) * len(sizes) > MAX_UNANCHORED_WORK:
        return []
    sm = difflib.SequenceMatcher(autojunk=False)
    sm.set_seq2(target)
    scored: list[tuple[float, int, int]] = []
    for size in sizes:
        for i in starts or range(0, len(src) - size + 1):
            if i + size > len(src):
                continue
            sm.set_seq1("\n".join(squashed[i : i + size]))
            if sm.real_quick_ratio() < CLOSE_RATIO or sm.quick_ratio() < CLOSE_RATIO:
                continue
            ratio = sm.ratio()
            if ratio >= CLOSE_RATIO:
                scored.append((ratio, i, size))
    if not scored:
        return []
    scored.sort(key=lambda t: (-t[0], abs(t[2] - n)))
    best = scored[0]
    out = [Span(best[1], best[1] + best[2], "close", lo)]
    for ratio, i, size in scored[1:]:
        overlaps = i < best[1] + best[2] and best[1] < i + size
        if not overlaps and best[0] - ratio < CLOSE_MARGIN:
            out.append(Span(i, i + size, "close", lo))  # another place almost as good: ambiguous
            break
    return out


def locate(src: list[str], search: list[str]) -> list[Span]:
    """The spans of the first strategy that finds any (one span: a match; several: ambiguous)."""
    for finder in (find_exact, find_whitespace, find_close):
        spans = finder(src, search)
        if spans:
            return spans
    return []


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def reindent(replace: list[str], search_line: str, found_line: str) -> list[str]:
    """The REPLACE lines shifted by the indentation the file has where the SEARCH lines were found.

    Args:
        replace: the REPLACE lines as the model wrote them.
        search_line: the first non-blank SEARCH line (its indentation is the model's reference).
        found_line: the file's line that matched it.
    """
    have, want = _indent(search_line), _indent(found_line)
    if have == want:
        return list(replace)
    if want.startswith(have):
        extra = want[len(have) :]
        return [extra + r if r.strip() else r for r in replace]
    if have.startswith(want):
        cut = len(have) - len(want)
        return [r[min(cut, len(_indent(r))) :] for r in replace]
    # Different characters (tabs vs spaces): lines that start like the SEARCH line get the file's indent.
    return [want + r[len(have) :] if r.startswith(have) and r.strip() else r for r in replace]
