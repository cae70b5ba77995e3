"""The first-run welcome view: shown when no model is configured; its buttons lead somewhere real."""

from __future__ import annotations

import json
import os
from pathlib import Path

import fakehub
import tiny_model
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from studio.models import catalog
from studio.models.sysinfo import Memory
from studio.ui.welcome import PITCH, WelcomeView
from tests.gui.scripted import ScriptedEngine

SHOTS = Path(os.environ.get("STUDIO_SCREENSHOTS", "")) if os.environ.get("STUDIO_SCREENSHOTS") else None


def test_the_window_opens_on_the_welcome_view_without_a_model(qtbot, model_window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    win = model_window()
    view = win.models.welcome
    assert view is not None and view.isVisible() and win.models.welcome_shown
    qtbot.waitUntil(lambda: not view.checking, timeout=10_000)  # the machine is looked at off the GUI thread
    assert not win.chat.isVisible() and not win.composer.isVisible() and not win.pane.isVisible()
    assert win.status.model_label.text() == "No model"
    texts = " ".join(w.text() for w in view.findChildren(type(view.error)))
    assert PITCH in texts
    if view.entry is not None:  # a local engine is installed here: its recommendation is offered
        assert view.reco_name.text() in view.entry.label and view.download_button.isEnabled()
        assert f"{view.entry.download_gb:.1f} GB download" in view.reco_facts.text()
    else:
        assert (
            view.reco_name.text() == "No local engine is installed" and not view.download_button.isEnabled()
        )
    shot = (SHOTS or tmp_path) / "welcome-1400x900.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    assert win.grab().save(str(shot))
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1400, 900)


def test_a_window_with_a_model_does_not_show_the_welcome(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    win = model_window(ScriptedEngine())
    assert win.models.welcome is None and win.composer.isVisible()


def test_recommendation_card_facts_and_a_research_licence(qtbot) -> None:  # type: ignore[no-untyped-def]
    entry = catalog.find("mlx:3B:4bit")
    view = WelcomeView(entry, Memory.of(8))
    qtbot.addWidget(view)
    assert view.reco_name.text() == "Qwen2.5-Coder-3B-Instruct MLX 4-bit"
    assert view.reco_facts.text() == (
        f"MLX · {entry.download_gb:.1f} GB download · needs about {entry.memory_gb:.1f} GB of memory (8 GB here) · "
        "Qwen Research License"
    )
    assert view.reco_licence.text().startswith("Qwen Research License — not Apache-2.0")
    asked: list[object] = []
    view.downloadRequested.connect(asked.append)
    qtbot.mouseClick(view.download_button, Qt.MouseButton.LeftButton)
    assert asked == [entry]


def test_connect_to_a_server_opens_the_picker_on_that_tab(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    win = model_window()
    qtbot.mouseClick(win.models.welcome.server_button, Qt.MouseButton.LeftButton)
    picker = win.models.picker
    assert picker is not None and picker.isVisible()
    assert picker.tabs.currentWidget() is picker.server
    qtbot.waitUntil(lambda: picker.info is not None, timeout=20_000)
    picker.reject()


def test_use_a_model_folder_opens_the_folder_dialog(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QFileDialog

    win = model_window()
    qtbot.mouseClick(win.models.welcome.folder_button, Qt.MouseButton.LeftButton)
    picker = win.models.picker
    assert picker is not None and picker.tabs.currentIndex() == 1
    dialogs = [d for d in picker.findChildren(QFileDialog) if d.isVisible()]
    assert len(dialogs) == 1 and dialogs[0].fileMode() == QFileDialog.FileMode.Directory
    dialogs[0].reject()
    qtbot.waitUntil(lambda: picker.info is not None, timeout=20_000)
    picker.reject()


def test_download_and_start_downloads_from_the_hub_then_loads(qtbot, model_window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The real download code against a fake hub serving the tiny model under a catalog repo id."""
    tiny = tiny_model.cached_tiny_model(tmp_path / "models")
    entry = catalog.find("mlx:0.5B:4bit")
    files = {p.name: p.read_bytes() for p in tiny.iterdir() if p.is_file() and not p.name.startswith(".")}
    loaded: list[str] = []

    def factory(name: str, model: str | None = None, **options: object) -> ScriptedEngine:
        loaded.append(f"{name}:{model}")
        return ScriptedEngine()

    cache = tmp_path / "hf"
    with fakehub.FakeHub({entry.repo: files}) as hub, fakehub.hub_online():
        win = model_window()
        win.models.engine_factory = factory
        win.models.download_options = {"endpoint": hub.endpoint, "cache_dir": cache}
        with qtbot.waitSignal(win.models.switched, timeout=30_000):
            win.models.download_and_start(entry)
        assert hub.file_requests()  # it really went to the hub
    dialog = win.models.download_dialog
    assert dialog is not None and dialog.state == "done" and dialog.bar.value() == dialog.bar.maximum()
    path = Path(dialog.path)
    assert path.is_dir() and (path / "config.json").read_bytes() == files["config.json"]
    assert loaded == [f"mlx:{path}"]
    assert not win.models.welcome_shown
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert (saved["model"], saved["engine"]) == (str(path), "mlx")
    # A second "Download and start" finds it in the cache and downloads nothing.
    win.models.download_dialog = None
    with qtbot.waitSignal(win.models.switched, timeout=30_000):
        win.models.download_and_start(entry)
    assert win.models.download_dialog is None and loaded[-1] == f"mlx:{path}"
