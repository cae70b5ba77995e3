"""The sidebar: conversations newest first, FTS search as you type, rename, delete with undo, new chat.

It reads through the window's :class:`~studio.store.library.Library` (GUI-thread connection; WAL lets
it read while the writer thread writes). Rename and delete are one-row writes, done in place.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.store.library import Library
from studio.store.records import ConversationSummary

log = logging.getLogger(__name__)

SEARCH_DEBOUNCE_MS = 150
UNDO_MS = 10_000
ID_ROLE = Qt.ItemDataRole.UserRole
EMPTY_LIBRARY = "No conversations yet.\n\nEvery chat and artifact version is kept here. Start with New chat."


def when(ts: float, now: float | None = None) -> str:
    """A short "updated" label: time today, else the date."""
    now = time.time() if now is None else now
    lt, ln = time.localtime(ts), time.localtime(now)
    if lt[:3] == ln[:3]:
        return time.strftime("%H:%M", lt)
    return time.strftime("%Y-%m-%d", lt)


class Sidebar(QWidget):
    """The list of conversations.

    Args:
        library: the window's library.

    Signals:
        conversationSelected(str): the user picked a conversation.
        newChatRequested(): the New chat button.
        conversationDeleted(str): a conversation went to the trash (it can still come back).
        conversationRestored(str): Undo brought one back.
    """

    conversationSelected = Signal(str)
    newChatRequested = Signal()
    conversationDeleted = Signal(str)
    conversationRestored = Signal(str)

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self._current: str | None = None
        self._undo_id: str | None = None
        self._filling = False

        self.new_button = QPushButton("New chat")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.clicked.connect(self.newChatRequested.emit)
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search conversations")
        self.search_box.setClearButtonEnabled(True)
        self._debounce = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.refresh)
        self.search_box.textChanged.connect(lambda _t: self._debounce.start())
        self.list = QListWidget()
        # Long titles end in "…" (the full title is in the tooltip); no sideways scrolling.
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setUniformItemSizes(False)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        self.list.itemChanged.connect(self._item_changed)

        self.undo_bar = QWidget()
        self.undo_bar.setObjectName("undoBar")
        self.undo_label = QLabel()
        self.undo_label.setWordWrap(True)
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(self.undo_delete)
        bar = QHBoxLayout(self.undo_bar)
        bar.setContentsMargins(6, 2, 6, 2)
        bar.addWidget(self.undo_label, 1)
        bar.addWidget(self.undo_button)
        self.undo_bar.hide()
        self._undo_timer = QTimer(self, singleShot=True, interval=UNDO_MS)
        self._undo_timer.timeout.connect(self._forget_undo)

        self.act_rename = QAction("Rename", self)
        self.act_rename.setShortcut(QKeySequence(Qt.Key.Key_F2))
        self.act_rename.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.act_rename.triggered.connect(lambda: self.start_rename(self.selected_id()))
        self.act_delete = QAction("Delete", self)
        self.act_delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.act_delete.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.act_delete.triggered.connect(lambda: self.delete(self.selected_id()))
        self.list.addAction(self.act_rename)
        self.list.addAction(self.act_delete)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search_box)
        self.empty_hint = QLabel(EMPTY_LIBRARY)
        self.empty_hint.setObjectName("emptyHint")
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.empty_hint.hide()
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_hint, 1)
        layout.addWidget(self.undo_bar)

    # -- filling -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Fill the list: every conversation, or the search hits when the box has text."""
        self._debounce.stop()
        query = self.search_box.text().strip()
        self._filling = True
        self.list.setUpdatesEnabled(False)
        try:
            self.list.clear()
            if query:
                for hit in self.library.search(query):
                    self._add(hit.conversation, hit.snippet)
            else:
                for summary in self.library.list_conversations():
                    self._add(summary, None)
            self._select_current()
        finally:
            self.list.setUpdatesEnabled(True)
            self._filling = False
        empty = self.list.count() == 0
        self.empty_hint.setText(f"No conversation mentions “{query}”." if query else EMPTY_LIBRARY)
        self.empty_hint.setVisible(empty)
        self.list.setVisible(not empty)

    def _add(self, s: ConversationSummary, snippet: str | None) -> None:
        item = QListWidgetItem(s.title or "New chat")
        item.setData(ID_ROLE, s.id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        tip = f"{s.title}\n{when(s.updated)} · {s.messages} messages"
        if s.artifacts:
            tip += f" · {s.artifacts} versions"
        if s.interrupted:
            tip += " · an answer was interrupted"
            item.setText(f"{item.text()}  ⚠")
        if snippet:
            tip = snippet + "\n" + tip
        item.setToolTip(tip)
        self.list.addItem(item)

    def ids(self) -> list[str]:
        """The conversation ids listed, top first."""
        return [self.list.item(i).data(ID_ROLE) for i in range(self.list.count())]

    def titles(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _item(self, cid: str | None) -> QListWidgetItem | None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(ID_ROLE) == cid:
                return item
        return None

    def set_current(self, cid: str | None) -> None:
        """Highlight the conversation the window shows."""
        self._current = cid
        self._select_current()

    def _select_current(self) -> None:
        item = self._item(self._current)
        self.list.blockSignals(True)
        self.list.setCurrentItem(item) if item is not None else self.list.clearSelection()
        self.list.blockSignals(False)

    def selected_id(self) -> str | None:
        item = self.list.currentItem()
        return item.data(ID_ROLE) if item is not None else None

    def _activated(self, item: QListWidgetItem) -> None:
        cid = item.data(ID_ROLE)
        if cid != self._current:
            self.conversationSelected.emit(cid)

    # -- rename / delete -----------------------------------------------------------------

    def _menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        self.list.setCurrentItem(item)
        menu = QMenu(self)
        menu.addAction(self.act_rename)
        menu.addAction(self.act_delete)
        menu.popup(self.list.viewport().mapToGlobal(pos))

    def start_rename(self, cid: str | None) -> None:
        """Let the user type a new title in place."""
        item = self._item(cid)
        if item is not None:
            self.list.editItem(item)

    def _item_changed(self, item: QListWidgetItem) -> None:
        if not self._filling:
            self.rename(item.data(ID_ROLE), item.text())

    def rename(self, cid: str, title: str) -> None:
        """Set a conversation's title (an empty title keeps the old one)."""
        title = title.replace("⚠", "").strip()
        if not title:
            self.refresh()
            return
        try:
            self.library.rename(cid, title)
        except KeyError:
            log.warning("cannot rename %s: it is gone", cid)
        self.refresh()

    def delete(self, cid: str | None) -> None:
        """Move a conversation to the trash and offer Undo for a while."""
        if cid is None:
            return
        try:
            title = self.library.summary(cid).title or "New chat"
            self.library.delete(cid)
        except KeyError:
            return
        self._undo_id = cid
        self.undo_label.setText(f"Deleted “{title}”.")
        self.undo_bar.show()
        self._undo_timer.start()
        self.refresh()
        self.conversationDeleted.emit(cid)

    def undo_delete(self) -> None:
        """Bring back the conversation deleted last."""
        cid, self._undo_id = self._undo_id, None
        self._undo_timer.stop()
        self.undo_bar.hide()
        if cid is None:
            return
        self.library.undelete(cid)
        self.refresh()
        self.conversationRestored.emit(cid)

    def _forget_undo(self) -> None:
        self._undo_id = None
        self.undo_bar.hide()
