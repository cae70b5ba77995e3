"""The look: the theme follows the system's scheme, the setting persists, messages and empty states."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel

from studio.core import codetheme
from studio.store.library import Library
from studio.store.settings import Settings, load_settings
from studio.ui import theme
from studio.ui.chatview import ChatView
from studio.ui.settingsdialog import SettingsDialog
from studio.ui.sidebar import Sidebar
from studio.ui.versionbar import VersionBar

CODE_ANSWER = "Here:\n\n```python\ndef f(x):\n    return x  # twice\n```\n\nSee [docs](https://example.org)."


@pytest.fixture
def themes(qapp) -> Iterator[theme.ThemeManager]:  # type: ignore[no-untyped-def]
    """The app's theme manager in "system" mode; the application's look is put back afterwards."""
    style = qapp.style().name()
    manager = theme.install(qapp, "system")
    yield manager
    qapp.setStyleSheet("")
    qapp.setPalette(QPalette())
    qapp.setStyle(style)
    codetheme.set_code_theme("light")
    theme._manager, theme._current = None, theme.LIGHT
    shiboken6.delete(manager)


def _system(qapp, scheme: Qt.ColorScheme) -> None:  # type: ignore[no-untyped-def]
    qapp.styleHints().colorSchemeChanged.emit(scheme)


def test_the_theme_follows_the_system_scheme_unless_forced(qapp, themes) -> None:  # type: ignore[no-untyped-def]
    window = QPalette.ColorRole.Window
    _system(qapp, Qt.ColorScheme.Light)
    assert themes.palette_name() == "light"
    assert qapp.palette().color(window) == QColor(theme.LIGHT.window)
    light_sheet = qapp.styleSheet()
    assert theme.LIGHT.user_bg in light_sheet

    _system(qapp, Qt.ColorScheme.Dark)
    assert themes.palette_name() == "dark"
    assert qapp.palette().color(window) == QColor(theme.DARK.window)
    assert qapp.styleSheet() != light_sheet and theme.DARK.user_bg in qapp.styleSheet()
    assert codetheme.code_theme() == "dark"
    assert theme.current() is theme.DARK

    themes.set_mode("light")  # forced: the system's changes no longer apply
    _system(qapp, Qt.ColorScheme.Dark)
    assert qapp.palette().color(window) == QColor(theme.LIGHT.window)
    themes.set_mode("system")
    assert themes.palette_name() == "dark"
    with pytest.raises(ValueError, match="unknown theme"):
        themes.set_mode("sepia")


def test_the_environment_wins_over_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(theme.ENV, raising=False)
    assert theme.mode_from("dark") == "dark"
    assert theme.mode_from("nonsense") == "system"
    monkeypatch.setenv(theme.ENV, "Light")
    assert theme.mode_from("dark") == "light"
    monkeypatch.setenv(theme.ENV, "purple")
    assert theme.mode_from("dark") == "dark"


def test_the_theme_setting_persists(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "settings.json"
    dialog = SettingsDialog(Settings(), path)
    qtbot.addWidget(dialog)
    assert dialog.theme.currentData() == "system"
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    with qtbot.waitSignal(dialog.saved):
        dialog.accept()
    assert load_settings(path).theme == "dark"
    path.write_text('{"theme": "sepia"}', encoding="utf-8")
    assert load_settings(path).theme == "system"  # a bad value keeps the default


def test_user_and_assistant_messages_look_different(qtbot, qapp, themes) -> None:  # type: ignore[no-untyped-def]
    _system(qapp, Qt.ColorScheme.Light)
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show()
    qtbot.waitExposed(view)
    view.add_user_message("u1", "make a snake game")
    view.begin_assistant_message("a1")
    view.append_text("a1", "Sure, here it is.")
    view.finish_assistant_message("a1", "stop")
    user, answer = view.message("u1"), view.message("a1")
    assert user is not None and answer is not None
    assert (user.objectName(), user.property("role")) == ("userMsg", "user")
    assert (answer.objectName(), answer.property("role")) == ("assistantMsg", "assistant")
    qtbot.waitUntil(lambda: user.width() > 300 and answer.width() > 300)  # laid out
    image = view.column.grab().toImage()
    ratio = image.devicePixelRatio()

    def colour_at(widget, x: int) -> QColor:  # type: ignore[no-untyped-def]
        point = widget.mapTo(view.column, widget.rect().topLeft())
        return image.pixelColor(int((point.x() + x) * ratio), int((point.y() + widget.height() // 2) * ratio))

    # The user's bubble is tinted (and set in from the left); the answer sits on the chat's background.
    assert colour_at(user, user.width() - 12) == QColor(theme.LIGHT.user_bg)
    assert colour_at(user, 20) == QColor(theme.LIGHT.chat_bg)
    assert colour_at(answer, answer.width() - 12) == QColor(theme.LIGHT.chat_bg)
    assert colour_at(answer, 1) == QColor(theme.LIGHT.assistant_mark)


def test_a_theme_change_recolours_rendered_code(qtbot, qapp, themes) -> None:  # type: ignore[no-untyped-def]
    _system(qapp, Qt.ColorScheme.Light)
    view = ChatView()
    qtbot.addWidget(view)
    view.begin_assistant_message("a1")
    view.append_text("a1", CODE_ANSWER)
    view.finish_assistant_message("a1", "stop")
    light_text = view.plain_text()

    def shown_html() -> str:
        answer = view.message("a1")
        return "".join(label.text() for seg in answer.widgets() for label in getattr(seg, "labels", list)())

    light, dark = (codetheme.CODE_THEMES[n][1] for n in ("light", "dark"))
    assert light in shown_html() and dark not in shown_html()
    _system(qapp, Qt.ColorScheme.Dark)
    assert dark in shown_html() and light not in shown_html()
    assert theme.DARK.accent in shown_html()  # the link colour
    assert view.plain_text() == light_text  # the same answer, only recoloured


def test_empty_states_show_and_hide(qtbot, artifact_pane, tmp_path) -> None:  # type: ignore[no-untyped-def]
    view = ChatView()
    qtbot.addWidget(view)
    view.show()
    assert view.empty_state.isVisibleTo(view)
    view.add_user_message("u1", "hello")
    assert not view.empty_state.isVisibleTo(view)
    view.clear()
    assert view.empty_state.isVisibleTo(view)
    hint = view.empty_state.findChild(QLabel, "emptyHint")
    assert hint is not None and "Ask for something visual" in hint.text()

    assert artifact_pane.empty_hint.isVisibleTo(artifact_pane)
    with qtbot.waitSignal(artifact_pane.rendered, timeout=15000):
        artifact_pane.show_artifact("e", "<p>hi</p>", title="t", kind="html", final=True)
    assert not artifact_pane.empty_hint.isVisibleTo(artifact_pane)
    artifact_pane.clear()
    assert artifact_pane.empty_hint.isVisibleTo(artifact_pane)

    with Library(tmp_path / "library.db") as lib:
        sidebar = Sidebar(lib)
        qtbot.addWidget(sidebar)
        sidebar.show()
        sidebar.refresh()
        assert sidebar.empty_hint.isVisibleTo(sidebar) and not sidebar.list.isVisibleTo(sidebar)
        assert "New chat" in sidebar.empty_hint.text()
        lib.create_conversation("Snake")
        sidebar.refresh()
        assert not sidebar.empty_hint.isVisibleTo(sidebar) and sidebar.ids()
        sidebar.search_box.setText("zebra")
        sidebar.refresh()
        assert sidebar.empty_hint.isVisibleTo(sidebar) and "zebra" in sidebar.empty_hint.text()
        shiboken6.delete(sidebar)


def test_the_version_bar_offers_compare_from_two_versions(qtbot) -> None:  # type: ignore[no-untyped-def]
    bar = VersionBar()
    qtbot.addWidget(bar)
    bar.set_position(1, 1)
    assert not bar.compare_button.isEnabled()
    bar.set_position(2, 3)
    assert bar.compare_button.isEnabled() and not bar.compare_button.icon().isNull()
    with qtbot.waitSignal(bar.compareRequested):
        bar.compare_button.click()


def test_the_diff_is_redrawn_in_the_new_theme(qtbot, qapp, themes) -> None:  # type: ignore[no-untyped-def]
    from studio.ui.diffview import DiffView

    _system(qapp, Qt.ColorScheme.Light)
    view = DiffView()
    qtbot.addWidget(view)
    view.set_versions([(1, "v1", "a\nb\n"), (2, "v2", "a\nc\n")], 2)
    assert theme.LIGHT.diff_add[0] in view.browser.toHtml()
    _system(qapp, Qt.ColorScheme.Dark)
    html = view.browser.toHtml()
    assert theme.DARK.diff_add[0] in html and theme.LIGHT.diff_add[0] not in html
    assert "+c" in view.plain_text()
