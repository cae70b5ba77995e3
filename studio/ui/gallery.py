"""The Gallery: every artifact of the library as a grid of thumbnails, with search and pins.

Reading the library and decoding the thumbnails run on the library's writer thread; the grid is
filled on the GUI thread from the result (a queued signal). Opening an item asks the main window to
open its conversation; "Open as App" asks for a window of its own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio import APP_NAME
from studio.store.records import GalleryItem
from studio.ui.thumbnails import decode_thumbnail

if TYPE_CHECKING:
    from studio.store.library import Library
    from studio.store.writer import LibraryWriter

log = logging.getLogger(__name__)

ICON_SIZE = QSize(200, 125)
GRID_SIZE = QSize(224, 170)
SEARCH_DELAY_MS = 150
PIN = "\u2605 "  # the star before a pinned artifact's title (in every desktop font, unlike an emoji pin)
EMPTY_LIBRARY = "No artifacts yet. Ask for something visual in a chat and it appears here."


def _placeholder(kind: str) -> QPixmap:
    """The picture of an artifact with no thumbnail yet: its kind on a plain tile."""
    pixmap = QPixmap(ICON_SIZE)
    pixmap.fill(QColor("#e6e8eb"))
    painter = QPainter(pixmap)
    painter.setPen(QColor("#6b7280"))
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, kind.upper() or "ARTIFACT")
    painter.end()
    return pixmap


class GalleryWindow(QWidget):
    """A grid of every artifact: thumbnail and title, a search field, pins.

    Args:
        writer: the library's writer thread (reads and pins run there).
        parent: the main window (the gallery is a window of its own).

    Signals:
        conversationRequested(str): open this conversation (its artifact was activated).
        appRequested(str): open this artifact in a window of its own.
        loaded(): the grid shows the library as it is now (after a search, a pin, a refresh).
    """

    conversationRequested = Signal(str)
    appRequested = Signal(str)
    loaded = Signal()
    _results = Signal(int, object, object)  # from the writer thread
    _changed = Signal()  # from the writer thread: a pin was written

    def __init__(self, writer: LibraryWriter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setWindowTitle(f"Gallery — {APP_NAME}")
        self.setObjectName("gallery")
        self.writer = writer
        self._seq = 0
        self.items: list[GalleryItem] = []
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search artifacts by title")
        self.search.setClearButtonEnabled(True)
        self.count_label = QLabel()
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(ICON_SIZE)
        self.grid.setGridSize(GRID_SIZE)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setUniformItemSizes(True)
        self.grid.setWordWrap(True)
        self.grid.setSpacing(8)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.empty = QLabel(EMPTY_LIBRARY)
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.empty)
        self.open_button = QPushButton("Open Chat")
        self.app_button = QPushButton("Open as App")
        self.pin_button = QPushButton("Pin")
        self.pin_button.setCheckable(True)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.count_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.pin_button, self.app_button, self.open_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)
        self._timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.grid.itemActivated.connect(lambda item: self.open_chat(self._item(item)))
        self.grid.currentItemChanged.connect(lambda *_a: self._update_buttons())
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.open_button.clicked.connect(lambda: self.open_chat(self.selected()))
        self.app_button.clicked.connect(lambda: self.open_app(self.selected()))
        self.pin_button.clicked.connect(lambda on: self.set_pinned(self.selected(), on))
        self._results.connect(self._fill)
        self._changed.connect(self.refresh)
        self.resize(980, 680)
        self._update_buttons()

    # -- loading ---------------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Read the library again (for the search text) off the GUI thread; ``loaded`` follows."""
        self._seq += 1
        seq, query = self._seq, self.search.text()

        def read(lib: Library) -> tuple[list[GalleryItem], dict[str, QImage]]:
            items = lib.gallery(query)
            images = {}
            for it in items:
                if it.thumbnail is not None and not (img := decode_thumbnail(it.thumbnail)).isNull():
                    images[it.artifact_id] = img.scaled(
                        ICON_SIZE,
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
            return items, images

        def done(future: object) -> None:
            try:
                items, images = future.result()  # type: ignore[attr-defined]
            except Exception:
                log.exception("the gallery could not read the library")
                items, images = [], {}
            try:
                self._results.emit(seq, items, images)
            except RuntimeError:  # the gallery is gone
                pass

        self.writer.submit(read).add_done_callback(done)

    @Slot(int, object, object)
    def _fill(self, seq: int, items: list[GalleryItem], images: dict[str, QImage]) -> None:
        if seq != self._seq:
            return  # an older search
        selected = self.selected()
        self.items = items
        self.grid.clear()
        placeholders: dict[str, QPixmap] = {}
        for it in items:
            image = images.get(it.artifact_id)
            if image is not None:
                pixmap = QPixmap.fromImage(image)
            else:
                pixmap = placeholders.setdefault(it.kind, _placeholder(it.kind))
            row = QListWidgetItem(QIcon(pixmap), (PIN if it.pinned else "") + (it.title or "Untitled"))
            row.setData(Qt.ItemDataRole.UserRole, it.artifact_id)
            row.setToolTip(
                f"{it.title}\nChat: {it.conversation_title or 'New chat'}\n"
                f"{it.kind} · v{it.number} of {it.versions}" + (" · pinned" if it.pinned else "")
            )
            row.setSizeHint(GRID_SIZE)
            self.grid.addItem(row)
            if selected is not None and it.artifact_id == selected.artifact_id:
                self.grid.setCurrentItem(row)
        n = len(items)
        query = self.search.text().strip()
        self.count_label.setText(f"{n} artifact{'s' if n != 1 else ''}")
        self.empty.setText(f"No artifact matches “{query}”." if query else EMPTY_LIBRARY)
        self.stack.setCurrentWidget(self.grid if items else self.empty)
        self._update_buttons()
        self.loaded.emit()

    # -- what the user does ------------------------------------------------------------------

    def titles(self) -> list[str]:
        """The grid's item texts, in order (for tests and accessibility)."""
        return [self.grid.item(i).text() for i in range(self.grid.count())]

    def selected(self) -> GalleryItem | None:
        return self._item(self.grid.currentItem())

    def select(self, artifact_id: str) -> bool:
        """Make an artifact the current item; False when the grid does not show it."""
        for i in range(self.grid.count()):
            if self.grid.item(i).data(Qt.ItemDataRole.UserRole) == artifact_id:
                self.grid.setCurrentRow(i)
                return True
        return False

    def open_chat(self, item: GalleryItem | None) -> None:
        if item is not None:
            self.conversationRequested.emit(item.conversation_id)

    def open_app(self, item: GalleryItem | None) -> None:
        if item is not None:
            self.appRequested.emit(item.artifact_id)

    def set_pinned(self, item: GalleryItem | None, pinned: bool) -> None:
        """Pin an artifact to the front of the gallery (or unpin it); the grid is read again."""
        if item is None:
            return
        aid = item.artifact_id
        self.writer.submit(lambda lib: lib.set_pinned(aid, pinned)).add_done_callback(
            lambda _f: self._emit_changed()
        )

    def _emit_changed(self) -> None:
        try:
            self._changed.emit()
        except RuntimeError:  # the gallery is gone
            pass

    def _item(self, row: QListWidgetItem | None) -> GalleryItem | None:
        if row is None:
            return None
        aid = row.data(Qt.ItemDataRole.UserRole)
        return next((it for it in self.items if it.artifact_id == aid), None)

    def _update_buttons(self) -> None:
        item = self.selected()
        for b in (self.open_button, self.app_button, self.pin_button):
            b.setEnabled(item is not None)
        self.pin_button.setChecked(bool(item and item.pinned))
        self.pin_button.setText("Unpin" if item and item.pinned else "Pin")

    def _context_menu(self, pos: QPoint) -> None:
        item = self._item(self.grid.itemAt(pos))
        if item is None:
            return
        menu = QMenu(self)
        menu.addAction("Open Chat", lambda: self.open_chat(item))
        menu.addAction("Open as App", lambda: self.open_app(item))
        menu.addAction("Unpin" if item.pinned else "Pin", lambda: self.set_pinned(item, not item.pinned))
        menu.popup(self.grid.viewport().mapToGlobal(pos))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()


__all__ = ["GalleryWindow"]
