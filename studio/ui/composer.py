"""The composer: a multi-line input, Send/Stop, and attachment chips for dropped files.

Enter sends, Shift+Enter inserts a newline, Esc stops. Files dropped here (or on the chat, via
:meth:`Composer.add_files`) go through :func:`studio.core.attachments.load_attachment`: accepted
files become removable chips, refused ones emit ``attachmentRefused`` with a one-line reason that
is also shown briefly under the input. Nothing a user drops can crash it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.attachments import Attachment, AttachmentError, human_size, load_attachment
from studio.ui.filedrop import FileDropTarget

log = logging.getLogger(__name__)

NOTICE_MS = 5000
"""How long a refusal stays visible under the input."""


class PromptEdit(FileDropTarget, QPlainTextEdit):
    """The input box: Enter sends, Shift+Enter is a newline, Esc stops; file drops go to the composer.

    Signals:
        submit(): Enter was pressed.
        escape(): Esc was pressed.
        filesDropped(list): local file paths were dropped on the box.
    """

    submit = Signal()
    escape = Signal()
    filesDropped = Signal(list)

    def event(self, event: QEvent) -> bool:
        # Claim Enter and Esc before any window shortcut sees them.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape)
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if mods & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.submit.emit()
            event.accept()
            return
        if key == Qt.Key.Key_Escape:
            self.escape.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def files_dropped(self, paths: list[str]) -> None:
        self.filesDropped.emit(paths)


class AttachmentChip(QFrame):
    """One attached file: "name · size" and an × that removes it.

    Signals:
        removeRequested(): the × was clicked.
    """

    removeRequested = Signal()

    def __init__(self, attachment: Attachment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chip")
        self.attachment = attachment
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 1, 2, 1)
        row.setSpacing(2)
        self.label = QLabel(f"{attachment.name} · {human_size(attachment.size)}", self)
        self.label.setToolTip(f"{attachment.name} ({attachment.kind}, {attachment.mime})")
        self.remove_button = QToolButton(self)
        self.remove_button.setText("×")
        self.remove_button.setToolTip(f"Remove {attachment.name}")
        self.remove_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.remove_button.clicked.connect(self.removeRequested)
        row.addWidget(self.label)
        row.addWidget(self.remove_button)


class Composer(FileDropTarget, QWidget):
    """Where the user writes a turn and attaches files.

    Signals:
        sendRequested(str, list): the text and the list of :class:`Attachment` to send.
        stopRequested(): Esc or the Stop button.
        attachmentRefused(str): a file was refused; the one-line reason.
    """

    sendRequested = Signal(str, list)
    stopRequested = Signal()
    attachmentRefused = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setObjectName("composer")  # styled by the application theme (studio.ui.theme)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._busy = False
        self._chips: list[AttachmentChip] = []

        self.chip_row = QWidget(self)
        self._chip_box = QHBoxLayout(self.chip_row)
        self._chip_box.setContentsMargins(0, 0, 0, 0)
        self._chip_box.setSpacing(6)
        self._chip_box.addStretch(1)
        self.chip_row.hide()

        self.input = PromptEdit(self)
        self.input.setObjectName("input")
        self.input.setPlaceholderText("Ask for something visual… (Enter sends, Shift+Enter new line)")
        self.input.setTabChangesFocus(True)
        self.input.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        # Three lines to start with, growing with the text up to ten.
        self.input.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self._fit_height()
        self.input.submit.connect(self.submit)
        self.input.escape.connect(self.stopRequested)
        self.input.filesDropped.connect(self.add_files)

        self.button = QPushButton("Send", self)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.clicked.connect(self._on_button)

        self.refusal = QLabel(self)
        self.refusal.setObjectName("refusal")
        self.refusal.setWordWrap(True)
        self.refusal.hide()
        self._refusal_timer = QTimer(self)
        self._refusal_timer.setSingleShot(True)
        self._refusal_timer.timeout.connect(self.refusal.hide)

        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(self.input, 1)
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignBottom)
        box = QVBoxLayout(self)
        box.setContentsMargins(10, 6, 10, 8)
        box.setSpacing(4)
        box.addWidget(self.chip_row)
        box.addLayout(row)
        box.addWidget(self.refusal)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit_height()  # the style sheet's font is known only once polished

    def _fit_height(self, *_: object) -> None:
        lines = self.input.document().documentLayout().documentSize().height()
        lines = min(max(lines, 3), 10)
        margins = self.input.contentsMargins()
        frame = 2 * self.input.frameWidth() + margins.top() + margins.bottom()
        self.input.setFixedHeight(int(lines * self.input.fontMetrics().lineSpacing() + frame + 8))

    # -- the public API ----------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether an answer is being generated (the button says Stop)."""
        return self._busy

    def set_busy(self, busy: bool) -> None:
        """Switch the button between Send and Stop."""
        self._busy = busy
        self.button.setText("Stop" if busy else "Send")
        self.button.setToolTip("Stop the answer (Esc)" if busy else "Send (Enter)")

    def set_text(self, text: str) -> None:
        """Replace the input's text."""
        self.input.setPlainText(text)
        self.input.moveCursor(QTextCursor.MoveOperation.End)

    def text(self) -> str:
        """The input's text."""
        return self.input.toPlainText()

    def focus_input(self) -> None:
        """Put the keyboard focus in the input."""
        self.input.setFocus(Qt.FocusReason.OtherFocusReason)

    def attachments(self) -> list[Attachment]:
        """The files attached so far, in order."""
        return [chip.attachment for chip in self._chips]

    def add_files(self, paths: list[str]) -> None:
        """Attach files; each refused one emits ``attachmentRefused`` (never raises)."""
        for path in paths:
            try:
                attachment = load_attachment(path)
            except AttachmentError as e:
                self._refuse(str(e))
            except Exception as e:  # anything else a strange file can do must not crash the app
                log.warning("attaching %s failed", path, exc_info=True)
                self._refuse(f"{Path(path).name or path}: could not be read ({type(e).__name__}).")
            else:
                self._add_chip(attachment)

    def remove_attachment(self, index: int) -> None:
        """Drop the attachment at ``index``."""
        chip = self._chips.pop(index)
        self._chip_box.removeWidget(chip)
        chip.deleteLater()
        self.chip_row.setVisible(bool(self._chips))

    def clear_attachments(self) -> None:
        """Drop every attachment."""
        while self._chips:
            self.remove_attachment(len(self._chips) - 1)

    def submit(self) -> None:
        """Send the text and attachments (no-op while busy or when there is nothing to send)."""
        if self._busy:
            return
        text = self.text()
        attachments = self.attachments()
        if not text.strip() and not attachments:
            return
        self.sendRequested.emit(text.strip(), attachments)
        self.input.clear()
        self.clear_attachments()

    # -- internals -------------------------------------------------------------------------------

    def _on_button(self) -> None:
        if self._busy:
            self.stopRequested.emit()
        else:
            self.submit()

    def _add_chip(self, attachment: Attachment) -> None:
        chip = AttachmentChip(attachment, self.chip_row)
        chip.removeRequested.connect(lambda c=chip: self._remove_chip(c))
        self._chips.append(chip)
        self._chip_box.insertWidget(self._chip_box.count() - 1, chip)
        self.chip_row.show()

    def _remove_chip(self, chip: AttachmentChip) -> None:
        if chip in self._chips:
            self.remove_attachment(self._chips.index(chip))

    def _refuse(self, reason: str) -> None:
        log.info("attachment refused: %s", reason)
        self.refusal.setText(reason)
        self.refusal.show()
        self._refusal_timer.start(NOTICE_MS)
        self.attachmentRefused.emit(reason)

    # -- drops on the composer's frame (the input handles its own) ---------------------------------

    def files_dropped(self, paths: list[str]) -> None:
        self.add_files(paths)
