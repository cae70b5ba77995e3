"""GUI fixtures: the sandboxed web stack and a guard against dangling QThreads.

The artifact URL scheme is registered at import time, before pytest-qt creates the QApplication.
Pages are deleted before their profile (shiboken6.delete), or a failing test segfaults at exit.
"""

from __future__ import annotations

import traceback
import weakref
from collections.abc import Callable, Iterator

import pytest
import shiboken6
from PySide6 import QtWebEngineWidgets  # noqa: F401  (must be imported before the QApplication)
from PySide6.QtCore import QThread
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile

from studio.core.serving import ArtifactServer
from studio.web.page import ArtifactPage
from studio.web.preview import SandboxView
from studio.web.profile import build_artifact_profile
from studio.web.scheme import register_scheme

register_scheme()


@pytest.fixture(autouse=True)
def _dangling_qthreads(monkeypatch: pytest.MonkeyPatch, qtbot) -> Iterator[None]:
    """Fail any test that leaves a QThread running (after napari's fixture of the same name)."""
    started: weakref.WeakKeyDictionary[QThread, str] = weakref.WeakKeyDictionary()
    base_start = QThread.start

    def tracked_start(self: QThread, *args, **kwargs) -> None:
        started[self] = "".join(traceback.format_stack(limit=6)[:-1])
        base_start(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", tracked_start)
    yield
    running = []
    for thread, where in list(started.items()):
        try:
            if thread.isRunning():
                running.append(where)
        except RuntimeError:  # the C++ thread is already gone
            continue
    if running:
        pytest.fail(f"{len(running)} QThread(s) left running; started at:\n" + "\n".join(running))


@pytest.fixture
def artifact_server() -> ArtifactServer:
    """A fresh in-memory artifact server."""
    return ArtifactServer()


@pytest.fixture
def artifact_profile(qapp, artifact_server: ArtifactServer) -> Iterator[QWebEngineProfile]:
    """The sandboxed artifact profile; deleted after every page made from it."""
    profile = build_artifact_profile(artifact_server)
    yield profile
    qapp.processEvents()
    shiboken6.delete(profile)


@pytest.fixture
def make_page(artifact_profile: QWebEngineProfile) -> Iterator[Callable[..., ArtifactPage]]:
    """Factory for ArtifactPages on the sandboxed profile; all deleted before the profile."""
    pages: list[QWebEnginePage] = []

    def make(**kwargs) -> ArtifactPage:
        page = ArtifactPage(artifact_profile, **kwargs)
        pages.append(page)
        return page

    yield make
    for page in reversed(pages):
        if shiboken6.isValid(page):
            shiboken6.delete(page)


@pytest.fixture
def make_view(artifact_profile: QWebEngineProfile) -> Iterator[Callable[..., SandboxView]]:
    """Factory for shown SandboxViews on the sandboxed profile; deleted before the profile."""
    views: list[SandboxView] = []

    def make(**kwargs) -> SandboxView:
        view = SandboxView(artifact_profile, **kwargs)
        view.resize(400, 300)
        view.show()
        views.append(view)
        return view

    yield make
    for view in reversed(views):
        if shiboken6.isValid(view):
            shiboken6.delete(view)


@pytest.fixture
def artifact_pane(qtbot, artifact_profile: QWebEngineProfile, artifact_server: ArtifactServer):
    """A shown ArtifactPane (links are never confirmed); deleted before the profile."""
    from studio.ui.artifactpane import ArtifactPane

    pane = ArtifactPane(artifact_profile, artifact_server, confirm_link=lambda url, parent: False)
    pane.resize(640, 480)
    pane.show()
    yield pane
    if shiboken6.isValid(pane):
        shiboken6.delete(pane)
