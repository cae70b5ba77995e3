"""The console strip under the artifact preview: console output, errors, blocked requests."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from studio.ui import theme


def _colour(level: str) -> str:
    """The text colour of a console level in the current theme."""
    p = theme.current()
    return {"error": p.error, "warning": p.warn, "blocked": p.assistant_mark, "network": p.accent}.get(
        level, p.text
    )


MAX_ENTRIES = 500


def format_entry(entry: dict) -> str:
    """One line for an entry: level, line number, message (first line only)."""
    line = f" L{entry['line']}" if entry.get("line") else ""
    text = str(entry.get("message", "")).splitlines()[0] if entry.get("message") else ""
    return f"[{entry.get('level', 'info')}{line}] {text}"


class ConsoleStrip(QListWidget):
    """A compact read-only list of console entries for the shown artifact version."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setUniformItemSizes(True)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(font)
        self._errors = 0

    def set_entries(self, entries: list[dict]) -> None:
        """Replace the strip's content."""
        self.clear_entries()
        for item in entries[-MAX_ENTRIES:]:
            self.add_entry(item)

    def add_entry(self, entry: dict) -> None:
        """Append one entry (the oldest go beyond MAX_ENTRIES)."""
        item = QListWidgetItem(format_entry(entry))
        item.setToolTip(f"{entry.get('source', '')}\n{entry.get('message', '')}")
        item.setForeground(QColor(_colour(str(entry.get("level")))))
        self.addItem(item)
        if entry.get("level") == "error":
            self._errors += 1
        if self.count() > MAX_ENTRIES:
            self.takeItem(0)
        self.scrollToBottom()

    def clear_entries(self) -> None:
        """Empty the strip."""
        self.clear()
        self._errors = 0

    def error_count(self) -> int:
        """How many error entries were added since the last clear."""
        return self._errors
