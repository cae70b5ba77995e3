"""The chat's stand-in for an answer's edit blocks: "3 edits, +12 −4 lines", expandable to the blocks."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from studio.core.patch import parse_blocks


class PatchCard(QFrame):
    """A one-line summary of a patch answer; a click shows or hides the edit blocks themselves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("artifactCard")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Show or hide the edits")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        box = QVBoxLayout(self)
        box.setContentsMargins(10, 6, 10, 6)
        box.setSpacing(4)
        self.title_label = QLabel(self)
        self.title_label.setObjectName("cardTitle")
        self.body = QLabel(self)
        self.body.setObjectName("thinkBody")
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setStyleSheet("font-family: monospace;")
        self.body.hide()
        box.addWidget(self.title_label)
        box.addWidget(self.body)
        self._blocks_text = ""
        self._state: tuple[str, str] | None = None

    @property
    def expanded(self) -> bool:
        """Whether the edit blocks are shown."""
        return not self.body.isHidden()

    def set_info(self, blocks_text: str, summary: str | None, writing: bool) -> None:
        """Update the card: the blocks' text, and the summary once the edits were applied (or not)."""
        if summary is None:
            n = len(parse_blocks(blocks_text))
            summary = f"{n} edit{'s' if n != 1 else ''}" + (" · writing…" if writing else "")
        if (blocks_text, summary) == self._state:
            return
        self._state = (blocks_text, summary)
        self._blocks_text = blocks_text
        self.title_label.setText(f"\u270e {summary}")
        if self.expanded:
            self.body.setText(blocks_text.strip())

    def toggle(self) -> None:
        """Expand or collapse the edit blocks."""
        if self.expanded:
            self.body.hide()
        else:
            self.body.setText(self._blocks_text.strip())
            self.body.show()

    def text(self) -> str:
        """The card's visible text."""
        return self.title_label.text() + (f"\n{self.body.text()}" if self.expanded else "")

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.toggle()
        super().mouseReleaseEvent(event)
