"""Compare two versions of an artifact: two live, sandboxed previews side by side over their code diff.

Each side runs in its own origin (``<artifact>~compare-a`` / ``-b``, with a copy of the artifact's data
files), in the same page class and profile as the artifact pane, so the pair cannot share storage with
each other or with the version in the pane. The diff is the Diff tab's own :class:`DiffView`; picking
other versions in it loads them in the previews.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWebEngineCore import QWebEngineProfile
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from studio.core.serving import ArtifactServer
from studio.core.standalone import standalone_html
from studio.store.records import ArtifactVersion
from studio.ui.diffview import DiffView
from studio.web.preview import SandboxView
from studio.web.unload import BLANK

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CompareVersion:
    """One version offered for comparison.

    Attributes:
        number: the version number.
        label: its name in the pickers ("v2 (answer)").
        source: the artifact's source (diffed).
        html: the standalone page (rendered).
    """

    number: int
    label: str
    source: str
    html: str


class _Side(QWidget):
    """A heading and a sandboxed preview."""

    def __init__(self, profile: QWebEngineProfile, parent: QWidget) -> None:
        super().__init__(parent)
        self.heading = QLabel(self)
        self.heading.setObjectName("compareSide")
        self.view = SandboxView(profile, self)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.heading)
        box.addWidget(self.view, 1)


class CompareView(QWidget):
    """Two versions side by side, live, above the diff between them (a window of its own).

    Args:
        profile: the sandboxed profile the artifact pane uses.
        server: serves the two pages (and the artifact's data files, copied to each side's origin).
        artifact_id: the artifact whose versions these are.
        versions: every version, oldest first.
        current: the version to compare with the one before it (default: the newest).

    Signals:
        loaded(int, int): the old and new version now loading in the left and right previews.
    """

    loaded = Signal(int, int)

    def __init__(
        self,
        profile: QWebEngineProfile,
        server: ArtifactServer,
        artifact_id: str,
        versions: Sequence[CompareVersion],
        current: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Compare versions")
        self.setObjectName("compareView")
        self._server = server
        self._versions = {v.number: v for v in versions}
        self._ids = (f"{artifact_id}~compare-a", f"{artifact_id}~compare-b")
        for side_id in self._ids:  # data files the artifact fetches (data/<name>)
            for name, (mime, data) in server.files(artifact_id).items():
                server.put_file(side_id, name, mime, data)
        self.left, self.right = _Side(profile, self), _Side(profile, self)
        self.diff = DiffView(self)
        previews = QSplitter(Qt.Orientation.Horizontal)
        previews.addWidget(self.left)
        previews.addWidget(self.right)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(previews)
        split.addWidget(self.diff)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([480, 320])
        box = QVBoxLayout(self)
        box.setContentsMargins(6, 6, 6, 6)
        box.addWidget(split)
        self.diff.compared.connect(self._load)
        self.resize(1280, 820)
        self.diff.set_versions([(v.number, v.label, v.source) for v in versions], current)

    def pair(self) -> tuple[int | None, int | None]:
        """The old and new version numbers shown."""
        return self.diff.pair()

    def compare(self, old: int, new: int) -> None:
        """Show version ``old`` on the left and ``new`` on the right, and the diff between them."""
        self.diff.compare(old, new)

    def _load(self, old: int, new: int) -> None:
        for side, side_id, number in ((self.left, self._ids[0], old), (self.right, self._ids[1], new)):
            version = self._versions[number]
            side.heading.setText(version.label)
            url = self._server.put_page(side_id, version.html)
            side.view.artifact_page.load(QUrl(url))
        self.loaded.emit(old, new)

    def closeEvent(self, event: QCloseEvent) -> None:
        for side in (self.left, self.right):
            side.view.artifact_page.load(BLANK)  # stop the artifacts now, not when the window is freed
        for side_id in self._ids:
            self._server.remove(side_id)
        super().closeEvent(event)


def compare_versions(stored: Sequence[ArtifactVersion]) -> list[CompareVersion]:
    """The library's versions of an artifact as :class:`CompareVersion` (each rendered to its page)."""
    return [
        CompareVersion(v.number, f"v{v.number} ({v.origin})", v.source, standalone_html(v.to_artifact()))
        for v in stored
    ]


def open_compare(
    parent: QWidget,
    profile: QWebEngineProfile,
    server: ArtifactServer,
    artifact_id: str,
    stored: Sequence[ArtifactVersion],
    current: int | None,
) -> CompareView | None:
    """Open the comparison window over ``parent`` (None when there are fewer than two versions)."""
    if len(stored) < 2:
        return None
    view = CompareView(profile, server, artifact_id, compare_versions(stored), current, parent)
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.show()
    return view
