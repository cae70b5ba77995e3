"""The stream-safe live preview: which snapshots of a streaming answer are worth rendering.

Per answer a :class:`LivePreview` feeds each batch of text to a StreamingExtractor; when the
extraction's revision changes and the page is at a safe checkpoint (the html ends at a closed
tag, no <script>/<style>/comment left open, every css/js block closed) it asks for a render, at
most every ``interval`` seconds. The last checkpoint that was throttled is kept and rendered on a
later batch. Versions of the conversation's artifact are counted in :class:`ArtifactVersions`.
No Qt here: :class:`studio.ui.answerrunner.AnswerRunner` calls these objects and renders.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported on first use: the window shows sooner
    from studio.core.extract import Artifact, Extraction

log = logging.getLogger(__name__)

PREVIEW_INTERVAL_S = 0.3
_OPEN = {tag: re.compile(rf"<{tag}\b", re.IGNORECASE) for tag in ("script", "style")}
_CLOSE = {tag: re.compile(rf"</{tag}\s*>", re.IGNORECASE) for tag in ("script", "style")}
_LAST_TAG = re.compile(r"<(/?)([A-Za-z][\w:-]*)?[^<>]*>\s*$")
_CODE_LANGS = {"css", "js", "javascript", "jsx", "ts", "typescript", "tsx"}


def _standalone(artifact: Artifact) -> str:
    from studio.core.standalone import standalone_html

    return standalone_html(artifact)


def _closed_markup(raw: str) -> bool:
    """True when markup ends just after a closed element: no open <script>/<style>/comment."""
    src = raw.rstrip()
    if not src.endswith(">"):
        return False
    for tag, opener in _OPEN.items():
        if len(opener.findall(src)) != len(_CLOSE[tag].findall(src)):
            return False
    if src.rfind("<!--") > src.rfind("-->"):
        return False
    last = _LAST_TAG.search(src)
    if last is None:
        return False
    # A closing tag, a self-closed element or a comment end: the element just finished.
    return bool(last.group(1)) or src.endswith("/>") or src.endswith("-->")


def safe_checkpoint(artifact: Artifact, text: str) -> bool:
    """True when a partly streamed artifact can be rendered without showing half-written code.

    The blocks still open are judged on the answer's raw text (the artifact's source may have
    been completed by the extractor): an open css/js block never renders; an open html/svg block
    renders when it ends at a closed element.

    Args:
        artifact: a snapshot of the artifact being streamed.
        text: the answer so far (the blocks' offsets point into it).
    """
    if artifact.kind not in ("html", "svg"):
        return False  # script-only kinds (react) render only when complete
    for block in artifact.blocks:
        if block.closed:
            continue
        if (block.lang or "").lower() in _CODE_LANGS:
            return False
        if not _closed_markup(text[block.start : block.end]):
            return False
    return _closed_markup(artifact.source) or artifact.complete


@dataclass(frozen=True, slots=True)
class Version:
    """One rendered version of the conversation's artifact (keyed by the answer's message id)."""

    msg_id: str
    number: int
    extraction: Extraction
    html: str

    @property
    def artifact(self) -> Artifact:
        assert self.extraction.artifact is not None
        return self.extraction.artifact


class ArtifactVersions:
    """The versions of one conversation's artifact, in the order they were made."""

    def __init__(self) -> None:
        self._by_msg: dict[str, Version] = {}

    def __len__(self) -> int:
        return len(self._by_msg)

    def get(self, msg_id: str) -> Version | None:
        return self._by_msg.get(msg_id)

    def number_for(self, msg_id: str) -> int:
        """The version number an answer has, or would get if it makes an artifact."""
        found = self._by_msg.get(msg_id)
        return found.number if found else len(self._by_msg) + 1

    def record(self, msg_id: str, extraction: Extraction) -> Version:
        """Store an answer's final artifact (its html made standalone)."""
        from studio.core.standalone import standalone_html

        assert extraction.artifact is not None
        version = Version(msg_id, self.number_for(msg_id), extraction, standalone_html(extraction.artifact))
        self._by_msg[msg_id] = version
        return version

    def put(self, version: Version) -> None:
        """Keep a version made elsewhere (a stored one, with the store's number)."""
        self._by_msg[version.msg_id] = version

    def clear(self) -> None:
        self._by_msg.clear()


RenderFn = Callable[["Artifact", str, bool], None]


class LivePreview:
    """Feeds one streaming answer to the extractor and decides when to render.

    Args:
        render: called as ``render(artifact, html, final)`` for each render.
        interval: the least time between two streaming renders, in seconds.
        clock: a monotonic clock (for tests).
    """

    def __init__(
        self,
        render: RenderFn,
        interval: float = PREVIEW_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._render = render
        self._interval = interval
        self._clock = clock
        from studio.core.extract import StreamingExtractor

        self._extractor = StreamingExtractor()
        self._revision = -1
        self._last_render = -1e9
        self._pending: tuple[Artifact, str] | None = None
        self._rendered_html: str | None = None
        self.renders = 0
        self.snapshot: Extraction | None = None

    @property
    def rendered_html(self) -> str | None:
        """The html of the last render (None before the first)."""
        return self._rendered_html

    def feed(self, delta: str) -> bool:
        """Feed a batch of text; returns True when the extraction changed (a new revision)."""
        self._extractor.feed(delta)
        snap = self._extractor.snapshot()  # cheap when nothing changed; moves ``revision``
        changed = self._extractor.revision != self._revision
        if changed:
            self._revision = self._extractor.revision
            self.snapshot = snap
            art = snap.artifact
            if art is not None and safe_checkpoint(art, self._extractor.text):
                html = _standalone(art)
                if html != self._rendered_html:
                    self._pending = (art, html)
        self._flush()
        return changed

    def _flush(self) -> None:
        if self._pending is None or self._clock() - self._last_render < self._interval:
            return
        art, html = self._pending
        self._pending = None
        self._last_render = self._clock()
        self._rendered_html = html
        self.renders += 1
        self._render(art, html, False)

    def finish(self, render_partial: bool = True) -> Extraction:
        """End the answer: the final extraction, rendered with ``final=True`` when it has an artifact.

        Args:
            render_partial: render an incomplete (cut off, cancelled) artifact too; when False such
                an artifact is left out and the last good frame stays.
        """
        final = self._extractor.finish()
        self.snapshot = final
        self._pending = None
        art = final.artifact
        if art is not None and (render_partial or (art.complete and not art.truncated)):
            html = _standalone(art)
            self._rendered_html = html
            self.renders += 1
            self._render(art, html, True)
        return final
