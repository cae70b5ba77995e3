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
from PySide6.QtCore import QSettings, QThread
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile

from studio.core.serving import ArtifactServer
from studio.engine.base import Engine, GenerationParams
from studio.ui.generation import GenerationController
from studio.ui.mainwindow import MainWindow
from studio.web import flags
from studio.web.page import ArtifactPage
from studio.web.preview import SandboxView
from studio.web.profile import build_artifact_profile
from studio.web.scheme import register_scheme

# The window's own Chromium flags (WebRTC policy, network gate; the OS sandbox off only as root),
# before pytest-qt creates the QApplication: the GUI tests run under what the app runs under.
flags.apply()
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


@pytest.fixture
def model_window(qtbot, artifact_server, artifact_profile, tmp_path) -> Iterator[Callable[..., MainWindow]]:  # type: ignore[no-untyped-def]
    """Make studio windows for the model picker / welcome tests: make(engine=None, factory=None).

    ``engine`` runs in a GenerationController (None: no model, the welcome view); ``factory`` replaces
    the window's engine factory (how a chosen model's engine is made).
    """
    made: list[MainWindow] = []

    def make(engine: Engine | None = None, factory: Callable[..., object] | None = None) -> MainWindow:
        controller = GenerationController(engine) if engine is not None else None
        window = MainWindow(
            artifact_server,
            artifact_profile,
            controller,
            params=GenerationParams(max_tokens=8),
            settings=QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat),
            system_prompt="SYSTEM",
            native_dialogs=False,
            settings_file=tmp_path / "settings.json",
        )
        if factory is not None:
            window.models.engine_factory = factory
        made.append(window)
        window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        return window

    yield make
    for window in made:
        window.close()
        if window.controller is not None:
            assert not window.controller.worker_thread.isRunning()
        if shiboken6.isValid(window):
            shiboken6.delete(window)
