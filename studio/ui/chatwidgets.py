"""The pieces of a chat message: rich-text labels, the artifact card, the thinking section.

Every piece is a plain QLabel-based widget (no web view): an assistant answer is a column of
labels, one per batch of finished markdown blocks plus one for the growing tail, so a new token
re-renders only the tail.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QGuiApplication, QMouseEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from studio.ui.theme import rich_css

log = logging.getLogger(__name__)

MAX_LABEL_HTML = 4000
"""Finished markdown is split into labels of about this much HTML (at block boundaries)."""

GROUP_LABELS = 16
"""Finished labels per group widget."""

# Qt rich text understands a CSS subset; this sheet (and the theme's colours, studio.ui.theme.rich_css)
# is put in front of every label's HTML.
RICH_CSS = """
p { margin-top: 2px; margin-bottom: 8px; }
h1 { font-size: 20px; margin-top: 8px; margin-bottom: 6px; }
h2 { font-size: 17px; margin-top: 8px; margin-bottom: 6px; }
h3, h4, h5, h6 { font-size: 15px; margin-top: 6px; margin-bottom: 4px; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
pre.code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; white-space: pre-wrap;
           margin-top: 0px; margin-bottom: 0px; }
td.codehead { font-size: 11px; }
table.md { margin-bottom: 8px; }
blockquote { margin-left: 14px; }
li { margin-bottom: 2px; }
"""


class RichLabel(QLabel):
    """A selectable, word-wrapped rich-text label that never follows links by itself."""

    def __init__(self, html_text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setOpenExternalLinks(False)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._html = ""
        self._hfw: dict[int, int] = {}
        if html_text:
            self.set_html(html_text)

    def set_html(self, html_text: str) -> None:
        """Show ``html_text`` (styled with :data:`RICH_CSS`); no-op when unchanged."""
        if html_text != self._html:
            self._html = html_text
            self._hfw.clear()
            self._show()

    def _show(self) -> None:
        html_text = self._html
        self.setText(f"<style>{RICH_CSS}{rich_css()}</style>{html_text}" if html_text else "")

    def restyle(self) -> None:
        """Show the same HTML with the current theme's colours."""
        self._hfw.clear()
        self._show()

    def heightForWidth(self, width: int) -> int:
        # QLabel lays its rich text out again on every call; layouts ask often (scroll bar on/off).
        height = self._hfw.get(width)
        if height is None:
            if len(self._hfw) > 8:
                self._hfw.clear()
            height = self._hfw[width] = super().heightForWidth(width)
        return height

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._hfw.clear()
        super().changeEvent(event)

    def html(self) -> str:
        """The HTML last given to :meth:`set_html` (without the style sheet)."""
        return self._html


class MarkdownSegment(QWidget):
    """Markdown rendered incrementally: one label per batch of finished blocks, one for the tail.

    Signals:
        linkActivated(str): a link other than a code block's copy link was clicked.
    """

    linkActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from studio.core.markdown_render import IncrementalRenderer  # markdown-it loads with the first answer

        self._renderer = IncrementalRenderer()
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._box.setSpacing(0)
        self._stable: list[RichLabel] = []
        self._groups: list[QWidget] = []
        self._group_boxes: list[QVBoxLayout] = []
        self._tail = self._label()
        self._box.addWidget(self._tail)
        self._text: str | None = None

    def restyle(self) -> None:
        """Render the markdown again with the current theme's colours (code blocks too)."""
        from studio.core.markdown_render import IncrementalRenderer

        text, self._text = self._text, None
        self._renderer = IncrementalRenderer()
        self._drop_stable()
        self._tail.restyle()
        if text is not None:
            self.set_text(text)

    def _drop_stable(self) -> None:
        for group in self._groups:
            self._box.removeWidget(group)
            group.deleteLater()
        self._groups.clear()
        self._group_boxes.clear()
        self._stable.clear()

    def _label(self, html_text: str = "") -> RichLabel:
        label = RichLabel(html_text, self)
        label.linkActivated.connect(self._on_link)
        return label

    def set_text(self, text: str) -> None:
        """Show the markdown ``text`` (usually the previous text plus more)."""
        if text == self._text:
            return
        self._text = text
        step = self._renderer.set_text(text)
        if step.reset:
            self._drop_stable()
        # Finished blocks go into labels of bounded size: painting and layout stay cheap.
        batch: list[str] = []
        for piece in step.pieces:
            batch.append(piece)
            if sum(map(len, batch)) >= MAX_LABEL_HTML:
                self._add_stable("".join(batch))
                batch = []
        if batch:
            self._add_stable("".join(batch))
        self._tail.set_html(step.tail)
        self._tail.setVisible(bool(step.tail))

    def _add_stable(self, html_text: str) -> None:
        # Finished labels live in groups of GROUP_LABELS: a growing tail re-lays out a handful of
        # items, not every label of a long answer.
        if not self._groups or self._group_boxes[-1].count() >= GROUP_LABELS:
            group = QWidget(self)
            box = QVBoxLayout(group)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(0)
            self._groups.append(group)
            self._group_boxes.append(box)
            self._box.insertWidget(self._box.count() - 1, group)
        label = self._label(html_text)
        label.setParent(self._groups[-1])
        self._group_boxes[-1].addWidget(label)
        self._stable.append(label)

    def labels(self) -> list[RichLabel]:
        """The labels in display order (the tail last)."""
        return [*self._stable, self._tail]

    def code(self, key: str) -> str | None:
        """The code of the block whose copy link is ``copy:<key>``."""
        return self._renderer.codes.get(key)

    def _on_link(self, href: str) -> None:
        from studio.core.markdown_render import COPY_SCHEME

        if href.startswith(COPY_SCHEME):
            code = self.code(href.removeprefix(COPY_SCHEME))
            if code is not None:
                QGuiApplication.clipboard().setText(code)
            return
        self.linkActivated.emit(href)


class ArtifactCard(QFrame):
    """The compact stand-in for an artifact's code: title, kind, version, lines, "writing…".

    Signals:
        clicked(): the card was clicked.
    """

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("artifactCard")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Show this version in the preview")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 10, 6)
        icon = QLabel("</>", self)
        icon.setObjectName("cardMeta")
        row.addWidget(icon)
        col = QVBoxLayout()
        col.setSpacing(0)
        self.title_label = QLabel(self)
        self.title_label.setObjectName("cardTitle")
        self.meta_label = QLabel(self)
        self.meta_label.setObjectName("cardMeta")
        col.addWidget(self.title_label)
        col.addWidget(self.meta_label)
        row.addLayout(col, 1)
        self._state: tuple[str, str, int | None, int, bool] | None = None

    def set_info(self, title: str, kind: str, version: int | None, lines: int, writing: bool) -> None:
        """Update what the card says (cheap when nothing changed)."""
        state = (title, kind, version, lines, writing)
        if state == self._state:
            return
        self._state = state
        self.title_label.setText(title or "Artifact")
        parts = [kind.upper() if kind else "HTML"]
        if version is not None:
            parts.append(f"v{version}")
        parts.append(f"{lines} line{'s' if lines != 1 else ''}")
        if writing:
            parts.append("writing…")
        self.meta_label.setText(" · ".join(parts))

    def text(self) -> str:
        """The card's visible text (title and meta line)."""
        return f"{self.title_label.text()}\n{self.meta_label.text()}"

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()
        super().mouseReleaseEvent(event)


class ThinkSection(QWidget):
    """The model's ``<think>`` text: a dim one-line header, the text shown only when expanded."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 4)
        box.setSpacing(2)
        self.head = QLabel(self)
        self.head.setObjectName("thinkHead")
        self.head.setCursor(Qt.CursorShape.PointingHandCursor)
        self.head.setToolTip("Show or hide the model's reasoning")
        self.body = QLabel(self)
        self.body.setObjectName("thinkBody")
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.hide()
        box.addWidget(self.head)
        box.addWidget(self.body)
        self.head.mousePressEvent = lambda _e: self.toggle()  # type: ignore[method-assign]
        self._text = ""
        self._closed = False
        self._update_head()

    @property
    def expanded(self) -> bool:
        """Whether the reasoning text is shown."""
        return not self.body.isHidden()

    def set_content(self, text: str, closed: bool) -> None:
        """Update the reasoning text; ``closed`` once ``</think>`` arrived."""
        if (text, closed) == (self._text, self._closed):
            return
        self._text, self._closed = text, closed
        self._update_head()
        if self.expanded:
            self.body.setText(text.strip())

    def toggle(self) -> None:
        """Expand or collapse the reasoning text."""
        if self.expanded:
            self.body.hide()
        else:
            self.body.setText(self._text.strip())
            self.body.show()
        self._update_head()

    def _update_head(self) -> None:
        arrow = "▾" if self.expanded else "▸"
        if self._closed:
            words = len(self._text.split())
            self.head.setText(f"{arrow} Thought for {words} words")
        else:
            self.head.setText(f"{arrow} Thinking…")


class ChipLabel(QLabel):
    """A small rounded label: an attachment's name and size."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setObjectName("chip")
        self.setTextFormat(Qt.TextFormat.PlainText)


class BranchSwitch(QWidget):
    """ "< 2/3 >" under a message that has siblings (edits or regenerations of the same turn).

    Signals:
        switched(int): the user asked for the sibling at this index (0-based).
    """

    switched = Signal(int)

    def __init__(self, index: int, count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("branchSwitch")
        self.index, self.count = index, count
        self.prev_button = QToolButton(self)
        self.prev_button.setText("<")
        self.prev_button.setEnabled(index > 0)
        self.prev_button.clicked.connect(lambda: self.switched.emit(self.index - 1))
        self.label = QLabel(f"{index + 1}/{count}", self)
        self.next_button = QToolButton(self)
        self.next_button.setText(">")
        self.next_button.setEnabled(index < count - 1)
        self.next_button.clicked.connect(lambda: self.switched.emit(self.index + 1))
        box = QHBoxLayout(self)
        box.setContentsMargins(4, 0, 4, 0)
        box.addWidget(self.prev_button)
        box.addWidget(self.label)
        box.addWidget(self.next_button)
        box.addStretch(1)

    def text(self) -> str:
        return f"< {self.label.text()} >"
