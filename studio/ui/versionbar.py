"""The artifact pane's version strip: "v3 of 5", previous / next, thumbnails, "Restore this version"."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from studio.ui.theme import icon

ORIGIN_LABEL = {
    "model": "answer",
    "edit": "your edit",
    "autofix": "auto-fix",
    "restore": "restored",
    "patch": "edits applied",
}
THUMB_SIZE = QSize(48, 30)  # a version's thumbnail on the bar
MAX_THUMBS = 6  # versions shown as thumbnails at once, around the current one


class VersionBar(QWidget):
    """Shows which version is on screen and moves between versions.

    A strip of thumbnails (up to :data:`MAX_THUMBS` around the current version) sits between the
    label and "next"; a click shows that version. Versions without a thumbnail show their number.

    Signals:
        versionRequested(int): show version N (previous / next / a thumbnail).
        restoreRequested(int): make version N current again, as a new version.
        compareRequested(): open two versions side by side (studio.ui.compare).
    """

    versionRequested = Signal(int)
    restoreRequested = Signal(int)
    compareRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._number = 0
        self._count = 0
        self._origins: dict[int, str] = {}
        self._thumbs: dict[int, QPixmap] = {}
        self.prev_button = QToolButton()
        self.prev_button.setText("‹")
        self.prev_button.setToolTip("Previous version")
        self.next_button = QToolButton()
        self.next_button.setText("›")
        self.next_button.setToolTip("Next version")
        self.label = QLabel()
        self.label.setObjectName("versionLabel")
        self.restore_button = QToolButton()
        self.restore_button.setText("Restore this version")
        self.compare_button = QToolButton()
        self.compare_button.setText("Compare")
        self.compare_button.setIcon(icon("compare"))
        self.compare_button.setToolTip("Compare two versions side by side, live, with their diff")
        self.compare_button.clicked.connect(self.compareRequested.emit)
        self.strip = QWidget()
        self.strip.setObjectName("versionThumbs")
        self._strip_layout = QHBoxLayout(self.strip)
        self._strip_layout.setContentsMargins(2, 0, 2, 0)
        self._strip_layout.setSpacing(2)
        self.thumb_buttons: list[QToolButton] = []
        for b in (self.prev_button, self.next_button, self.restore_button, self.compare_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.prev_button.clicked.connect(lambda: self.versionRequested.emit(self._number - 1))
        self.next_button.clicked.connect(lambda: self.versionRequested.emit(self._number + 1))
        self.restore_button.clicked.connect(lambda: self.restoreRequested.emit(self._number))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.prev_button)
        layout.addWidget(self.label)
        layout.addWidget(self.strip)
        layout.addWidget(self.next_button)
        layout.addWidget(self.restore_button)
        layout.addWidget(self.compare_button)
        self.set_position(0, 0)

    @property
    def number(self) -> int:
        return self._number

    @property
    def count(self) -> int:
        return self._count

    def text(self) -> str:
        return self.label.text()

    def set_position(self, number: int, count: int, origin: str | None = None) -> None:
        """Show "v{number} of {count}" (hidden when there is no version)."""
        self._number, self._count = number, count
        if count == 0:
            self._thumbs.clear()  # another artifact's thumbnails come with it
        if origin:
            self._origins[number] = origin
        self.setVisible(count > 0)
        label = f"v{number} of {count}"
        if origin:
            self.label.setToolTip(f"made by {ORIGIN_LABEL.get(origin, origin)}")
        self.label.setText(label)
        self.prev_button.setEnabled(number > 1)
        self.next_button.setEnabled(number < count)
        # Restoring the newest version would only copy it.
        self.restore_button.setEnabled(0 < number < count)
        self.compare_button.setEnabled(count > 1)
        self._fill_strip()

    def set_thumbnails(self, images: dict[int, QImage]) -> None:
        """The thumbnails of the artifact's versions, by number (replaces the earlier ones; best given at
        :data:`THUMB_SIZE` already, scaled off the GUI thread)."""
        self._thumbs = {
            n: QPixmap.fromImage(img).scaled(
                THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
            for n, img in images.items()
            if not img.isNull()
        }
        self._fill_strip()

    def thumbnail_numbers(self) -> list[int]:
        """The versions the strip shows with a picture (for tests and accessibility)."""
        return [int(b.property("number")) for b in self.thumb_buttons if not b.icon().isNull()]

    def _fill_strip(self) -> None:
        for button in self.thumb_buttons:
            button.deleteLater()
        self.thumb_buttons = []
        if not self._thumbs or self._count < 1:
            self.strip.hide()
            return
        first = max(1, min(self._number - MAX_THUMBS // 2, self._count - MAX_THUMBS + 1))
        for n in range(first, min(self._count, first + MAX_THUMBS - 1) + 1):
            button = QToolButton()
            button.setProperty("number", n)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setCheckable(True)
            button.setChecked(n == self._number)
            button.setAutoRaise(n != self._number)
            button.setToolTip(
                f"v{n}" + (f" ({ORIGIN_LABEL.get(o, o)})" if (o := self._origins.get(n)) else "")
            )
            pixmap = self._thumbs.get(n)
            if pixmap is not None:
                button.setIcon(QIcon(pixmap))
                button.setIconSize(THUMB_SIZE)
            else:
                button.setText(str(n))
                button.setFixedHeight(THUMB_SIZE.height() + 6)
            button.clicked.connect(lambda _c=False, n=n: self._thumb_clicked(n))
            self._strip_layout.addWidget(button)
            self.thumb_buttons.append(button)
        self.strip.show()

    def _thumb_clicked(self, number: int) -> None:
        if number == self._number:
            self._fill_strip()  # keep it checked
            return
        self.versionRequested.emit(number)
