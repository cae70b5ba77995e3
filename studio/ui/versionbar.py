"""The artifact pane's version strip: "v3 of 5", previous / next, "Restore this version"."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from studio.ui.theme import icon

ORIGIN_LABEL = {"model": "answer", "edit": "your edit", "autofix": "auto-fix", "restore": "restored"}


class VersionBar(QWidget):
    """Shows which version is on screen and moves between versions.

    Signals:
        versionRequested(int): show version N (previous / next).
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
        self._newest_current = True
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
        for b in (self.prev_button, self.next_button, self.restore_button, self.compare_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.prev_button.clicked.connect(lambda: self.versionRequested.emit(self._number - 1))
        self.next_button.clicked.connect(lambda: self.versionRequested.emit(self._number + 1))
        self.restore_button.clicked.connect(lambda: self.restoreRequested.emit(self._number))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.prev_button)
        layout.addWidget(self.label)
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
