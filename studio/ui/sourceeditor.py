"""The Source tab's editor: pygments highlighting, line numbers, Ctrl+F search, Ctrl+Enter to run.

The highlighter lexes the whole document once per change (pygments has no incremental mode) and
then colours each block from the cached token spans; sources above ``HIGHLIGHT_LIMIT`` stay plain.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QShortcut,
    QShowEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from pygments.token import _TokenType

log = logging.getLogger(__name__)

HIGHLIGHT_LIMIT = 300_000  # characters; larger sources are shown plain


def _formats(style_name: str = "default") -> dict[_TokenType, QTextCharFormat]:
    from pygments.styles import get_style_by_name

    style = get_style_by_name(style_name)
    out: dict[_TokenType, QTextCharFormat] = {}
    for ttype, spec in style:
        fmt = QTextCharFormat()
        if spec["color"]:
            fmt.setForeground(QColor("#" + spec["color"]))
        if spec["bold"]:
            fmt.setFontWeight(QFont.Weight.Bold)
        if spec["italic"]:
            fmt.setFontItalic(True)
        out[ttype] = fmt
    return out


class PygmentsHighlighter(QSyntaxHighlighter):
    """Colours an HTML document (with its inline CSS and JS) using pygments' HtmlLexer."""

    def __init__(self, document: QTextDocument) -> None:
        from pygments.lexers import HtmlLexer

        super().__init__(document)
        self.setDocument(None)  # detach: our slot must run before the re-highlight
        self._lexer = HtmlLexer(stripnl=False, ensurenl=False)
        self._formats = _formats()
        self._starts: list[int] = []
        self._spans: list[tuple[int, int, _TokenType]] = []
        self._stale = True
        # Connected before setDocument, so the cache is marked stale before Qt re-highlights.
        document.contentsChange.connect(self._mark_stale)
        self.setDocument(document)

    def _mark_stale(self, *_args: object) -> None:
        self._stale = True

    def _format(self, ttype: _TokenType) -> QTextCharFormat | None:
        while ttype.parent is not None:  # up to, not including, the root Token
            fmt = self._formats.get(ttype)
            if fmt is not None and (fmt.foreground().style() != Qt.BrushStyle.NoBrush or fmt.fontItalic()):
                return fmt
            ttype = ttype.parent
        return None

    def _lex(self) -> None:
        self._stale = False
        text = self.document().toPlainText()
        self._spans = []
        if len(text) > HIGHLIGHT_LIMIT:
            self._starts = []
            return
        for start, ttype, value in self._lexer.get_tokens_unprocessed(text):
            if value:
                self._spans.append((start, start + len(value), ttype))
        self._starts = [s[0] for s in self._spans]

    def highlightBlock(self, text: str) -> None:
        if self._stale:
            self._lex()
        if not self._spans:
            return
        pos = self.currentBlock().position()
        end = pos + len(text)
        i = max(0, bisect_right(self._starts, pos) - 1)
        while i < len(self._spans) and self._spans[i][0] < end:
            s, e, ttype = self._spans[i]
            i += 1
            if e <= pos:
                continue
            fmt = self._format(ttype)
            if fmt is not None:
                a, b = max(s, pos), min(e, end)
                self.setFormat(a - pos, b - a, fmt)


class _Gutter(QWidget):
    def __init__(self, editor: SourceEditor) -> None:
        super().__init__(editor)
        self._editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self._editor.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._editor.paint_gutter(event)


class SourceEditor(QPlainTextEdit):
    """A plain-text code editor with line numbers and syntax highlighting.

    Signals:
        runRequested(): Ctrl+Enter (or Ctrl+Return) was pressed.
    """

    runRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 2)
        # Made when the editor is first shown: pygments (about 45 ms of imports) stays off the first frame.
        self.highlighter: PygmentsHighlighter | None = None
        self._gutter = _Gutter(self)
        self.blockCountChanged.connect(lambda _n: self._update_margins())
        self.updateRequest.connect(self._update_gutter)
        self._update_margins()
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WidgetShortcut)
            sc.activated.connect(self.runRequested.emit)

    def gutter_width(self) -> int:
        digits = len(str(max(1, self.blockCount())))
        return 10 + self.fontMetrics().horizontalAdvance("9") * max(3, digits)

    def _update_margins(self) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _update_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())

    def showEvent(self, event: QShowEvent) -> None:
        if self.highlighter is None:
            self.highlighter = PygmentsHighlighter(self.document())
            self.highlighter.rehighlight()  # now, not on a later turn of the event loop
        super().showEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        cr = self.contentsRect()
        self._gutter.setGeometry(QRect(cr.left(), cr.top(), self.gutter_width(), cr.height()))

    def paint_gutter(self, event: QPaintEvent) -> None:
        """Draw the line numbers of the visible blocks."""
        painter = QPainter(self._gutter)
        painter.fillRect(event.rect(), self.palette().alternateBase())
        painter.setPen(self.palette().placeholderText().color())
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        width = self._gutter.width() - 5
        while block.isValid() and top <= event.rect().bottom():
            bottom = top + round(self.blockBoundingRect(block).height())
            if block.isVisible() and bottom >= event.rect().top():
                painter.drawText(0, top, width, height, Qt.AlignmentFlag.AlignRight, str(number + 1))
            block = block.next()
            top = bottom
            number += 1
        painter.end()

    def set_source(self, text: str) -> None:
        """Replace the text (keeps the scroll position when the text is unchanged)."""
        if text != self.toPlainText():
            self.setPlainText(text)
        self.document().setModified(False)


class SourcePanel(QWidget):
    """The editor with a Run button and a find bar (Ctrl+F; Enter finds next, Esc closes).

    Signals:
        runRequested(str): the user asked to run the edited source (Run or Ctrl+Enter).
    """

    runRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = SourceEditor()
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Render the edited source and save it as a new version (Ctrl+Enter)")
        self.run_button.clicked.connect(self._run)
        self.editor.runRequested.connect(self._run)
        self.state = QLabel()
        self.editor.modificationChanged.connect(self._modified)
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 2)
        top.addWidget(self.state, 1)
        top.addWidget(self.run_button)

        self.find_bar = QWidget()
        self.find_edit = QLineEdit()
        self.find_edit.setPlaceholderText("Find")
        self.find_edit.returnPressed.connect(self.find_next)
        self.find_edit.textChanged.connect(lambda _t: self.find_next(from_start=True))
        self.find_status = QLabel()
        close = QPushButton("×")
        close.setFlat(True)
        close.clicked.connect(self.close_find)
        bar = QHBoxLayout(self.find_bar)
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self.find_edit, 1)
        bar.addWidget(self.find_status)
        bar.addWidget(close)
        self.find_bar.hide()
        find = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        find.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.activated.connect(self.open_find)
        esc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.find_edit)
        esc.setContext(Qt.ShortcutContext.WidgetShortcut)
        esc.activated.connect(self.close_find)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.find_bar)
        layout.addWidget(self.editor, 1)
        self._modified(False)

    def text(self) -> str:
        return self.editor.toPlainText()

    def set_source(self, text: str) -> None:
        """Show a version's source (unless the user is in the middle of an edit of it)."""
        self.editor.set_source(text)

    def is_modified(self) -> bool:
        return self.editor.document().isModified()

    def _modified(self, modified: bool) -> None:
        self.state.setText("Edited: Run (Ctrl+Enter) saves a new version" if modified else "")

    def _run(self) -> None:
        self.runRequested.emit(self.text())

    def mark_saved(self) -> None:
        self.editor.document().setModified(False)

    # -- find ----------------------------------------------------------------------------
    def open_find(self) -> None:
        self.find_bar.show()
        selected = self.editor.textCursor().selectedText()
        if selected and "\u2029" not in selected:
            self.find_edit.setText(selected)
        self.find_edit.setFocus()
        self.find_edit.selectAll()

    def close_find(self) -> None:
        self.find_bar.hide()
        self.editor.setFocus()

    def find_next(self, from_start: bool = False) -> bool:
        """Select the next match of the find text (wrapping around); returns whether one was found."""
        needle = self.find_edit.text()
        if not needle:
            self.find_status.clear()
            return False
        if from_start:
            cursor = self.editor.textCursor()
            cursor.setPosition(cursor.selectionStart())
            self.editor.setTextCursor(cursor)
        found = self.editor.find(needle)
        if not found:  # wrap around
            cursor = self.editor.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.Start)
            self.editor.setTextCursor(cursor)
            found = self.editor.find(needle)
        self.find_status.setText("" if found else "Not found")
        return found
