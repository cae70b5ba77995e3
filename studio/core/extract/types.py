"""The records :mod:`studio.core.extract` answers with (re-exported there)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ArtifactKind = Literal["html", "svg", "react"]


# The fence language an artifact kind is written back in (context turns, fix prompts).
FENCE_LANG = {"html": "html", "svg": "svg", "react": "jsx"}


def fence_for(kind: str) -> str:
    """The code-fence language for an artifact ``kind`` (html for anything unknown)."""
    return FENCE_LANG.get(kind, "html")


@dataclass(frozen=True, slots=True)
class Block:
    """One code block of the answer, fenced or recovered from unfenced text.

    Attributes:
        lang: the sniffed language ("html", "css", "js", "jsx", "tsx", "svg", "python", ... or "text").
        tag: the fence's info string as written ("" if none or unfenced).
        start: offset of the block's content in the answer text.
        end: offset just past the content (the closing fence line is not content).
        closed: False when the answer ended (or, while streaming, still is) inside it.
    """

    lang: str
    tag: str
    start: int
    end: int
    closed: bool

    def to_json(self) -> dict[str, object]:
        return {
            "lang": self.lang,
            "tag": self.tag,
            "start": self.start,
            "end": self.end,
            "closed": self.closed,
        }


@dataclass(frozen=True, slots=True)
class Artifact:
    """The renderable thing an answer holds.

    Attributes:
        kind: "html", "svg" or "react".
        title: from <title>, else the answer's first meaningful heading, else a short fallback.
        source: a full HTML document (html), the <svg> element (svg), or the component module (react).
        complete: every block it uses is closed (and an html document has its </html>).
        truncated: the answer ended inside it (only ever True in a final result).
        blocks: the blocks that went into it, in answer order.
    """

    kind: ArtifactKind
    title: str
    source: str
    complete: bool
    truncated: bool
    blocks: tuple[Block, ...]

    @classmethod
    def whole(cls, kind: str, title: str, source: str) -> Artifact:
        """A complete artifact from its source alone (a stored version, an edit)."""
        return cls(kind, title, source, True, False, ())  # type: ignore[arg-type]

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "title": self.title,
            "truncated": self.truncated,
            "complete": self.complete,
            "blocks": [b.to_json() for b in self.blocks],
        }


@dataclass(frozen=True, slots=True)
class Extraction:
    """What an answer holds: an artifact, or the plain reason why there is none.

    Attributes:
        artifact: the artifact, or None.
        reason: one line saying why there is no artifact ("" when there is one).
        blocks: every code block seen, in answer order.
    """

    artifact: Artifact | None
    reason: str
    blocks: tuple[Block, ...]
