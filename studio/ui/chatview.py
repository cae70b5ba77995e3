"""The chat: a scrolling column of messages, rendered incrementally while an answer streams.

Appends are cheap (queued text); one single-shot timer renders every changed message at most 30
times a second (33 ms: smooth to read, half the layout work of 60; or four times the last render's
cost when that is more, so rendering never takes more than about a quarter of the GUI thread); a
long answer costs time linear in its length. Model output is untrusted: raw HTML is escaped, images are never loaded, links are opened
only in the system browser on click (http/https/mailto only). No web view: plain Qt labels.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from studio.ui import theme
from studio.ui.chatmessage import AssistantMessage, UserMessage
from studio.ui.chatwidgets import BranchSwitch
from studio.ui.filedrop import FileDropTarget

log = logging.getLogger(__name__)

MIN_RENDER_MS = 33
"""The shortest interval between two renders of the chat."""
MAX_RENDER_MS = 250
"""The longest interval between two renders while text is streaming."""
FRAME_BUDGET = 4
"""The next render waits at least this many times the last frame's cost."""
SAFE_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
EMPTY_TITLE = "What shall we make?"
EMPTY_HINT = (
    "Ask for something visual and interactive: “a bouncing balls simulation”, “a snake game”, "
    "“a chart of this CSV”. It appears live on the right while the model writes.\n\n"
    "Drop files here to attach them · Enter sends · Esc stops"
)


def empty_state(title: str, hint: str, parent: QWidget | None = None) -> QWidget:
    """A centred title and a muted hint saying what to do next (object names emptyTitle / emptyHint)."""
    box = QWidget(parent)
    box.setObjectName("emptyState")
    lay = QVBoxLayout(box)
    lay.setContentsMargins(24, 48, 24, 24)
    head = QLabel(title, box)
    head.setObjectName("emptyTitle")
    head.setAlignment(Qt.AlignmentFlag.AlignHCenter)
    body = QLabel(hint, box)
    body.setObjectName("emptyHint")
    body.setWordWrap(True)
    body.setAlignment(Qt.AlignmentFlag.AlignHCenter)
    lay.addWidget(head)
    lay.addWidget(body)
    return box


class ChatView(FileDropTarget, QWidget):
    """Messages of one conversation, newest at the bottom.

    Signals:
        artifactActivated(str): the artifact card of message ``msg_id`` was clicked.
        filesDropped(list): local file paths dropped on the chat.
        linkActivated(str): a link in an answer was clicked (opened externally if http/https/mailto).
    """

    artifactActivated = Signal(str)
    filesDropped = Signal(list)
    branchRequested = Signal(str, int)  # a message id and the index of the sibling to show
    linkActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.open_links_externally = True
        self.setAcceptDrops(True)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.column = QWidget()
        self.column.setObjectName("chatColumn")
        self._box = QVBoxLayout(self.column)
        self._box.setContentsMargins(16, 14, 16, 14)
        self._box.setSpacing(14)
        self.empty_state = empty_state(EMPTY_TITLE, EMPTY_HINT, self.column)
        self._box.addWidget(self.empty_state)
        self._box.addStretch(1)
        self.scroll_area.setWidget(self.column)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll_area)
        self._messages: dict[str, UserMessage | AssistantMessage] = {}
        self._dirty: dict[str, None] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(MIN_RENDER_MS)
        self._timer.timeout.connect(self.flush)
        self.last_flush_ms = 0.0
        self.last_frame_ms = 0.0
        self.flush_count = 0
        self._switches: dict[str, BranchSwitch] = {}
        self._follow = True
        bar = self.scroll_area.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range)
        if (themes := theme.manager()) is not None:
            themes.changed.connect(self.restyle)

    # -- the public API ----------------------------------------------------------------------

    def clear(self) -> None:
        """Remove every message and notice."""
        self._timer.stop()
        self._dirty.clear()
        self._messages.clear()
        self._switches.clear()
        for i in reversed(range(self._box.count() - 1)):
            item = self._box.itemAt(i)
            widget = item.widget() if item is not None else None
            if widget is self.empty_state:
                continue
            self._box.takeAt(i)
            if widget is not None:
                widget.deleteLater()
        self.empty_state.show()
        self._follow = True

    def restyle(self, _name: str = "") -> None:
        """Render every answer again in the current theme's colours (rich text carries its colours)."""
        self.flush()
        for msg in self._messages.values():
            if isinstance(msg, AssistantMessage):
                msg.restyle()

    def add_user_message(
        self, msg_id: str, text: str, attachments: list[tuple[str, int]] | None = None
    ) -> None:
        """Show the user's turn with the names and sizes of its attachments."""
        self.flush()
        msg = UserMessage(text, list(attachments or []), self.column)
        self._add(msg_id, msg)
        self._follow = True

    def begin_assistant_message(self, msg_id: str) -> None:
        """Start an (empty) assistant answer."""
        msg = AssistantMessage(self.column)
        msg.artifactActivated.connect(lambda: self.artifactActivated.emit(msg_id))
        msg.linkActivated.connect(self._on_link)
        self._add(msg_id, msg)
        self._follow = True

    def append_text(self, msg_id: str, delta: str) -> None:
        """Add streamed text to an answer (cheap: it renders at the next frame)."""
        msg = self._assistant(msg_id)
        if msg is None or not delta:
            return
        msg.append(delta)
        self._schedule(msg_id)

    def set_artifact(self, msg_id: str, extraction: Any, version: int) -> None:
        """Show the artifact of ``extraction`` (if any) as one card in place of its code blocks."""
        msg = self._assistant(msg_id)
        if msg is None:
            return
        msg.set_artifact(extraction, version)
        self._schedule(msg_id)

    def set_patch(self, msg_id: str, summary: str) -> None:
        """Say on an answer's patch card what its edits did ("3 edits, +12 −4 lines", "1 of 3 failed")."""
        msg = self._assistant(msg_id)
        if msg is None:
            return
        msg.set_patch(summary)
        self._schedule(msg_id)

    def finish_assistant_message(self, msg_id: str, finish_reason: str, error: str | None = None) -> None:
        """End an answer: render it fully now and note "stopped", "cut off" or the error."""
        msg = self._assistant(msg_id)
        if msg is None:
            return
        msg.finish(finish_reason, error)
        self._dirty.pop(msg_id, None)
        msg.refresh()

    def set_branch(self, msg_id: str, index: int, count: int) -> BranchSwitch | None:
        """Put a "< index+1/count >" switch under a message that has siblings."""
        widget = self._messages.get(msg_id)
        if widget is None or count < 2:
            return None
        switch = BranchSwitch(index, count, self.column)
        switch.switched.connect(lambda i: self.branchRequested.emit(msg_id, i))
        self._box.insertWidget(self._box.indexOf(widget) + 1, switch)
        self._switches[msg_id] = switch
        return switch

    def branch_switch(self, msg_id: str) -> BranchSwitch | None:
        """The switch under a message, if it has one."""
        return self._switches.get(msg_id)

    def show_notice(self, text: str, level: str = "info") -> None:
        """Add a one-line notice (``level`` "info", "warning" or "error") below the messages."""
        self.flush()
        label = QLabel(text, self.column)
        label.setObjectName("noticeError" if level in ("error", "warning") else "notice")
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self._box.insertWidget(self._box.count() - 1, label)
        self._follow = True

    # -- rendering -------------------------------------------------------------------------------

    def flush(self) -> None:
        """Render every message that changed since the last frame."""
        if not self._dirty:
            return
        t0 = time.perf_counter()
        dirty, self._dirty = list(self._dirty), {}
        for msg_id in dirty:
            msg = self._messages.get(msg_id)
            if isinstance(msg, AssistantMessage):
                msg.refresh()
        self.flush_count += 1
        self.last_flush_ms = (time.perf_counter() - t0) * 1000
        # Qt lays out and paints after this returns (posted events run before timers): a zero
        # timer marks the end of the whole frame, whose cost paces the next render.
        QTimer.singleShot(0, self, lambda: self._frame_done(t0))

    def _frame_done(self, t0: float) -> None:
        self.last_frame_ms = (time.perf_counter() - t0) * 1000

    def _schedule(self, msg_id: str) -> None:
        self._dirty[msg_id] = None
        if not self._timer.isActive():
            # Slow frames space renders out: chat rendering takes at most ~1/4 of the GUI thread.
            cost = max(self.last_flush_ms, self.last_frame_ms)
            self._timer.start(min(MAX_RENDER_MS, max(MIN_RENDER_MS, int(cost * FRAME_BUDGET))))

    def _add(self, msg_id: str, widget: QWidget) -> None:
        old = self._messages.pop(msg_id, None)
        if old is not None:
            self._box.removeWidget(old)
            old.deleteLater()
        self._messages[msg_id] = widget  # type: ignore[assignment]
        self._box.insertWidget(self._box.count() - 1, widget)
        self.empty_state.hide()

    def _assistant(self, msg_id: str) -> AssistantMessage | None:
        msg = self._messages.get(msg_id)
        if isinstance(msg, AssistantMessage):
            return msg
        log.warning("no assistant message %r in the chat", msg_id)
        return None

    # -- inspection (tests, copy) ------------------------------------------------------------------

    def message(self, msg_id: str) -> UserMessage | AssistantMessage | None:
        """The widget of one message."""
        return self._messages.get(msg_id)

    def plain_text(self) -> str:
        """Everything the chat shows, as plain text, in order."""
        self.flush()
        out = []
        for i in range(self._box.count()):
            item = self._box.itemAt(i)
            widget = item.widget() if item is not None else None
            if isinstance(widget, UserMessage | AssistantMessage):
                out.append(widget.plain_text())
            elif isinstance(widget, QLabel):
                out.append(widget.text())
        return "\n\n".join(out)

    # -- scrolling: follow the stream unless the user scrolled up ------------------------------

    @property
    def following(self) -> bool:
        """Whether the view sticks to the bottom as text arrives."""
        return self._follow

    def _on_scrolled(self, value: int) -> None:
        bar = self.scroll_area.verticalScrollBar()
        self._follow = value >= bar.maximum() - 24

    def _on_range(self, _lo: int, hi: int) -> None:
        if self._follow:
            self.scroll_area.verticalScrollBar().setValue(hi)

    # -- links and drops ---------------------------------------------------------------------------

    def _on_link(self, href: str) -> None:
        self.linkActivated.emit(href)
        url = QUrl(href)
        if self.open_links_externally and url.scheme().lower() in SAFE_LINK_SCHEMES:
            QDesktopServices.openUrl(url)

    def files_dropped(self, paths: list[str]) -> None:
        self.filesDropped.emit(paths)
