"""Streaming-safe artifact extraction from an assistant's markdown answer.

Feed the answer chunk by chunk as it streams in; at any moment :meth:`StreamingExtractor.snapshot`
says whether there is an artifact so far, what it is and whether it is complete, and
:meth:`StreamingExtractor.finish` gives the final one. :func:`extract` does both for a whole text.

How lines are read is in :mod:`studio.core.extract.scan`; which block becomes the artifact and how
several blocks are assembled into one page is in :mod:`studio.core.extract.assemble`.

Streaming guarantees:

* ``feed`` looks at each completed line once, so a whole answer costs time linear in its length;
* a snapshot shows the answer up to its last completed line: the still-growing last line is held
  back (it may be a half-written fence marker like "``", or half a tag), so a snapshot never ends in a
  partial fence marker; it never shows prose after the artifact nor anything inside an open ``<think>``;
* ``snapshot`` returns the same object again until another line completes, and then rebuilds the
  source (a string copy plus a few slices);
* any chunking of a text gives the same final :class:`Extraction` as :func:`extract`.
"""

from __future__ import annotations

import logging

from studio.core.extract.assemble import View, build
from studio.core.extract.scan import Scanner
from studio.core.extract.types import Artifact, ArtifactKind, Block, Extraction

__all__ = ["Artifact", "ArtifactKind", "Block", "Extraction", "StreamingExtractor", "extract"]

log = logging.getLogger(__name__)


class StreamingExtractor:
    """Incremental extraction over a streamed answer.

    Example::

        ex = StreamingExtractor()
        for chunk in stream:
            ex.feed(chunk.text)
            if ex.snapshot().artifact is not None and ex.revision != shown:
                ...  # re-render
        final = ex.finish()
    """

    def __init__(self) -> None:
        self._scan = Scanner()
        self._chunks: list[str] = []
        self._text = ""
        self._cache: Extraction | None = None
        self._cache_version = -1
        self._revision = 0
        self._final: Extraction | None = None

    def feed(self, delta: str) -> None:
        """Add the next piece of the answer.

        Args:
            delta: any amount of text (a token, a line, the rest of the answer).

        Raises:
            RuntimeError: after :meth:`finish`.
        """
        if self._final is not None:
            raise RuntimeError("feed() after finish()")
        if delta:
            self._chunks.append(delta)
            self._scan.feed(delta)

    @property
    def text(self) -> str:
        """The whole answer fed so far."""
        if self._chunks:
            self._text += "".join(self._chunks)
            self._chunks.clear()
        return self._text

    @property
    def revision(self) -> int:
        """Grows by one each time a snapshot (or finish) holds a different artifact than the one before."""
        return self._revision

    def snapshot(self) -> Extraction:
        """The best artifact so far (partial while streaming); cached while nothing changed."""
        if self._final is not None:
            return self._final
        if self._cache is not None and self._cache_version == self._scan.version:
            return self._cache
        return self._build(final=False)

    def finish(self) -> Extraction:
        """End the stream and return the final extraction (an unclosed artifact is truncated)."""
        if self._final is None:
            self._scan.finish()
            self._final = self._build(final=True)
            art = self._final.artifact
            if art is not None and art.truncated:
                log.info("artifact %r is truncated (%d chars)", art.title, len(art.source))
        return self._final

    def _build(self, *, final: bool) -> Extraction:
        scan = self._scan
        text = self.text
        views = [View(b, b.lang(), b.end, b.closed) for b in scan.blocks]
        result = build(text, views, scan.headings, final=final, thinking=scan.in_think)
        old = self._cache.artifact if self._cache is not None else None
        new = result.artifact
        if (old is None) != (new is None) or (old is not None and new is not None and _changed(old, new)):
            self._revision += 1
        self._cache, self._cache_version = result, scan.version
        return result


def _changed(a: Artifact, b: Artifact) -> bool:
    return (a.kind, a.title, a.complete, a.truncated, a.source) != (
        b.kind,
        b.title,
        b.complete,
        b.truncated,
        b.source,
    )


def extract(text: str) -> Extraction:
    """Extract the artifact from a whole answer (the same as feeding it all, then finishing)."""
    ex = StreamingExtractor()
    ex.feed(text)
    return ex.finish()
