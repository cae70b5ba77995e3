"""One message of the chat: the user's turn (plain text + attachment chips) or the assistant's answer.

An assistant answer keeps its text and the latest artifact extraction; :meth:`AssistantMessage.refresh`
lays the text out into segments (markdown, thinking, the artifact card) and updates only what
changed: the widgets of unchanged segments stay, the growing markdown re-renders only its tail.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from studio.core.attachments import human_size
from studio.core.chat_segments import Segment, layout_segments
from studio.ui.chatwidgets import ArtifactCard, ChipLabel, MarkdownSegment, ThinkSection
from studio.ui.patchcard import PatchCard

log = logging.getLogger(__name__)

FINISH_NOTES = {
    "cancelled": "stopped",
    "length": "cut off at max tokens",
    "interrupted": "interrupted: the app stopped before this answer was finished",
}


class UserMessage(QFrame):
    """The user's turn: a tinted bubble with the text as typed and the attached files."""

    def __init__(self, text: str, attachments: list[tuple[str, int]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("userMsg")
        self.setProperty("role", "user")
        box = QVBoxLayout(self)
        box.setContentsMargins(12, 8, 12, 8)
        box.setSpacing(4)
        role = QLabel("You", self)
        role.setObjectName("role")
        box.addWidget(role)
        self.body = QLabel(self)
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setText(text)
        self.body.setVisible(bool(text))
        box.addWidget(self.body)
        if attachments:
            row = QHBoxLayout()
            row.setSpacing(6)
            for name, size in attachments:
                row.addWidget(ChipLabel(f"{name} · {human_size(size)}", self))
            row.addStretch(1)
            box.addLayout(row)

    def plain_text(self) -> str:
        """The message as plain text (role line, text, chips)."""
        chips = [c.text() for c in self.findChildren(ChipLabel)]
        return "\n".join(["You", self.body.text(), *chips])


class AssistantMessage(QFrame):
    """The assistant's answer, rendered incrementally.

    Signals:
        artifactActivated(): the artifact card was clicked.
        linkActivated(str): a link in the answer was clicked.
    """

    artifactActivated = Signal()
    linkActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("assistantMsg")
        self.setProperty("role", "assistant")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.setSpacing(4)
        role = QLabel("Assistant", self)
        role.setObjectName("role")
        box.addWidget(role)
        self._body = QVBoxLayout()
        self._body.setSpacing(4)
        box.addLayout(self._body)
        self.status = QLabel(self)
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.hide()
        box.addWidget(self.status)
        self.text = ""
        self._pending: list[str] = []
        self.extraction: Any = None
        self.version: int | None = None
        self.finished = False
        self.patch_summary: str | None = None  # "3 edits, +12 −4 lines" once a patch answer is applied
        self._pieces: list[tuple[Segment, QWidget]] = []

    # -- state -----------------------------------------------------------------------------

    def append(self, delta: str) -> None:
        """Queue more answer text (cheap; shown at the next :meth:`refresh`)."""
        self._pending.append(delta)

    def set_artifact(self, extraction: Any, version: int | None) -> None:
        """Remember the latest extraction (its artifact's blocks become the card)."""
        self.extraction = extraction
        self.version = version

    def set_patch(self, summary: str) -> None:
        """Say what the answer's edit blocks did (shown on its patch card)."""
        self.patch_summary = summary

    def finish(self, finish_reason: str, error: str | None) -> None:
        """Mark the answer done and say how it ended when it did not end normally."""
        self.finished = True
        if finish_reason == "error":
            self.status.setObjectName("statusError")
            self.status.setText(f"Error: {error}" if error else "Error: the answer failed.")
        elif finish_reason in FINISH_NOTES:
            self.status.setObjectName("status")
            self.status.setText(FINISH_NOTES[finish_reason])
        else:
            self.status.setText("")
        self.status.style().unpolish(self.status)  # re-polish for the new object name
        self.status.style().polish(self.status)
        self.status.setVisible(bool(self.status.text()))

    # -- rendering -------------------------------------------------------------------------

    def _blocks(self) -> tuple[Any, ...]:
        artifact = getattr(self.extraction, "artifact", None)
        return tuple(getattr(artifact, "blocks", ()) or ())

    def refresh(self) -> None:
        """Lay the text out and update the widgets that changed."""
        if self._pending:
            self.text += "".join(self._pending)
            self._pending.clear()
        text = self.text
        blocks = self._blocks()
        segments = layout_segments(text, blocks, provisional=not self.finished)
        keep = 0
        for (old, _w), new in zip(self._pieces, segments, strict=False):
            if old.kind != new.kind or old.start != new.start:
                break
            keep += 1
        for _seg, widget in self._pieces[keep:]:
            self._body.removeWidget(widget)
            widget.deleteLater()
        self._pieces = self._pieces[:keep]
        for i, seg in enumerate(segments):
            if i >= keep:
                widget = self._make(seg)
                self._body.addWidget(widget)
                self._pieces.append((seg, widget))
            widget = self._pieces[i][1]
            self._pieces[i] = (seg, widget)
            self._update(seg, widget, text, blocks)

    def _make(self, seg: Segment) -> QWidget:
        if seg.kind == "md":
            md = MarkdownSegment(self)
            md.linkActivated.connect(self.linkActivated)
            return md
        if seg.kind == "think":
            return ThinkSection(self)
        if seg.kind == "patch":
            return PatchCard(self)
        card = ArtifactCard(self)
        card.clicked.connect(self.artifactActivated)
        return card

    def _update(self, seg: Segment, widget: QWidget, text: str, blocks: tuple[Any, ...]) -> None:
        if isinstance(widget, MarkdownSegment):
            widget.set_text(text[seg.start : seg.end])
        elif isinstance(widget, ThinkSection):
            widget.set_content(text[seg.start : seg.end], seg.closed or self.finished)
        elif isinstance(widget, PatchCard):
            widget.set_info(text[seg.start : seg.end], self.patch_summary, not self.finished)
        elif isinstance(widget, ArtifactCard):
            artifact = getattr(self.extraction, "artifact", None)
            if blocks and artifact is not None:
                lines = sum(_line_count(text[b.start : b.end if b.closed else len(text)]) for b in blocks)
                open_block = any(not b.closed for b in blocks)
                title, kind, version = artifact.title, artifact.kind, self.version
            else:  # an html fence still being written, before the extractor named it
                body = text[seg.start : seg.end]
                lines = max(0, _line_count(body) - 1)
                open_block, title, kind, version = True, "Artifact", _fence_lang(body), None
            widget.set_info(title, kind, version, lines, open_block and not self.finished)

    def restyle(self) -> None:
        """Render the markdown again in the current theme's colours."""
        for widget in self.widgets():
            if isinstance(widget, MarkdownSegment):
                widget.restyle()

    # -- inspection ------------------------------------------------------------------------

    def segments(self) -> list[Segment]:
        """The segments shown now."""
        return [seg for seg, _w in self._pieces]

    def widgets(self) -> list[QWidget]:
        """The segment widgets shown now, in order."""
        return [w for _seg, w in self._pieces]

    def plain_text(self) -> str:
        """What the answer shows, as plain text (collapsed thinking stays hidden)."""
        out = ["Assistant"]
        for _seg, widget in self._pieces:
            if isinstance(widget, MarkdownSegment):
                for label in widget.labels():
                    if label.html():
                        plain = QTextDocumentFragment.fromHtml(label.html()).toPlainText()
                        out.append("\n".join(line.rstrip() for line in plain.strip("\n").split("\n")))
            elif isinstance(widget, ArtifactCard | PatchCard):
                out.append(widget.text())
            elif isinstance(widget, ThinkSection):
                out.append(widget.head.text())
                if widget.expanded:
                    out.append(widget.body.text())
        if self.status.text():
            out.append(self.status.text())
        return "\n".join(out)


def _line_count(text: str) -> int:
    text = text.rstrip("\n")
    return text.count("\n") + 1 if text else 0


def _fence_lang(fenced: str) -> str:
    first = fenced.split("\n", 1)[0].strip().lstrip("`~").strip()
    return (first.split() or ["html"])[0].lower()
