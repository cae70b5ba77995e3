"""The Diff tab: a line diff between any two versions of an artifact (difflib), highlighted."""

from __future__ import annotations

import difflib
import html as html_lib
import logging
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QTextBrowser, QVBoxLayout, QWidget

from studio.ui import theme

log = logging.getLogger(__name__)

CONTEXT_LINES = 3


def _styles() -> dict[str, str]:
    """The inline style of each kind of diff line, in the current theme's colours."""
    p = theme.current()
    return {
        mark: f"background:{bg};color:{fg};"
        for mark, (bg, fg) in (("+", p.diff_add), ("-", p.diff_del), ("@", p.diff_hunk))
    } | {" ": f"color:{p.muted};"}


@dataclass(frozen=True, slots=True)
class DiffStats:
    """How many lines a diff adds and removes."""

    added: int
    removed: int


def line_diff(old: str, new: str, old_name: str = "a", new_name: str = "b") -> list[str]:
    """A unified line diff (without line endings) between two sources."""
    return list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), old_name, new_name, n=CONTEXT_LINES, lineterm=""
        )
    )


def diff_stats(lines: list[str]) -> DiffStats:
    """Lines added and removed in a unified diff."""
    added = sum(1 for ln in lines if ln.startswith("+") and not ln.startswith("+++"))
    removed = sum(1 for ln in lines if ln.startswith("-") and not ln.startswith("---"))
    return DiffStats(added, removed)


def diff_html(lines: list[str]) -> str:
    """The diff as HTML: added lines green, removed red, hunk headers blue (file headers left out)."""
    if not lines:
        return "<p><i>No differences.</i></p>"
    rows = []
    styles = _styles()
    for ln in lines:
        if ln.startswith(("+++", "---")):
            continue
        mark = ln[:1] if ln[:1] in styles else " "
        rows.append(f'<div style="{styles[mark]}white-space:pre;">{html_lib.escape(ln) or "&nbsp;"}</div>')
    return '<div style="font-family:monospace;">' + "".join(rows) + "</div>"


class DiffView(QWidget):
    """Two version pickers and the highlighted diff between them.

    Signals:
        compared(int, int): the pair of version numbers now shown.
    """

    compared = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._sources: dict[int, str] = {}
        self.old_pick = QComboBox()
        self.new_pick = QComboBox()
        self.summary = QLabel()
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.setLineWrapMode(QTextBrowser.LineWrapMode.NoWrap)
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 2)
        top.addWidget(QLabel("From"))
        top.addWidget(self.old_pick)
        top.addWidget(QLabel("to"))
        top.addWidget(self.new_pick)
        top.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.browser, 1)
        self.old_pick.currentIndexChanged.connect(lambda _i: self.refresh())
        self.new_pick.currentIndexChanged.connect(lambda _i: self.refresh())
        if (themes := theme.manager()) is not None:
            themes.changed.connect(self._restyle)

    def set_versions(self, versions: list[tuple[int, str, str]], current: int | None = None) -> None:
        """Offer these versions; compare ``current`` (default the newest) with the one before it.

        Args:
            versions: (number, label, source) per version, oldest first.
            current: the version shown in the pane.
        """
        self._sources = {n: src for n, _label, src in versions}
        for pick in (self.old_pick, self.new_pick):
            pick.blockSignals(True)
            pick.clear()
            for n, label, _src in versions:
                pick.addItem(label, n)
            pick.blockSignals(False)
        if not versions:
            self.browser.setHtml("<p><i>No versions yet.</i></p>")
            self.summary.clear()
            return
        numbers = [n for n, _l, _s in versions]
        new = current if current in self._sources else numbers[-1]
        idx = numbers.index(new)
        self.compare(numbers[max(0, idx - 1)], new)

    def compare(self, old: int, new: int) -> None:
        """Show the diff from version ``old`` to version ``new``."""
        for pick, n in ((self.old_pick, old), (self.new_pick, new)):
            pick.blockSignals(True)
            pick.setCurrentIndex(pick.findData(n))
            pick.blockSignals(False)
        self.refresh()

    def pair(self) -> tuple[int | None, int | None]:
        return self.old_pick.currentData(), self.new_pick.currentData()

    def refresh(self) -> None:
        old, new = self.pair()
        if old is None or new is None:
            return
        lines = line_diff(self._sources[old], self._sources[new], f"v{old}", f"v{new}")
        stats = diff_stats(lines)
        self.summary.setText(f"+{stats.added} −{stats.removed}")
        self.browser.setHtml(diff_html(lines))
        self.compared.emit(old, new)

    def _restyle(self, _name: str) -> None:
        self.refresh()  # the diff's colours are inline: draw it again in the new theme's

    def plain_text(self) -> str:
        return self.browser.toPlainText()
