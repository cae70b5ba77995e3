"""The window's menus and shortcuts: one table of (menu, text, shortcut, handler)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow


@dataclass(frozen=True, slots=True)
class Actions:
    """The actions the window and the tests reach by name."""

    new: QAction
    export: QAction
    settings: QAction
    quit: QAction
    copy: QAction
    edit: QAction
    focus: QAction
    model: QAction
    regen: QAction
    stop: QAction
    about: QAction
    gallery: QAction | None = None
    open_app: QAction | None = None
    save_app: QAction | None = None


def _action(
    window: QMainWindow, menu: Any, text: str, shortcut: str | None, slot: Callable[[], Any]
) -> QAction:
    act = QAction(text, window)
    if shortcut:
        act.setShortcut(QKeySequence(shortcut))
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    act.triggered.connect(slot)
    menu.addAction(act)
    return act


def build_menus(window: QMainWindow, handlers: dict[str, Callable[[], Any]]) -> Actions:
    """File, Edit, Model, Generate and Help menus on ``window``'s menu bar.

    Args:
        window: the main window.
        handlers: a slot per action name (new, export, settings, quit, copy, edit, focus, model,
            regen, stop, about; optional: gallery, open_app, save_app).
    """
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    new = _action(window, file_menu, "&New Chat", "Ctrl+N", handlers["new"])
    export = _action(window, file_menu, "&Export HTML…", "Ctrl+E", handlers["export"])
    apps = {}
    if "gallery" in handlers:
        file_menu.addSeparator()
        apps["gallery"] = _action(window, file_menu, "&Gallery", "Ctrl+Shift+G", handlers["gallery"])
        apps["open_app"] = _action(window, file_menu, "&Open as App", "Ctrl+Shift+O", handlers["open_app"])
        apps["save_app"] = _action(window, file_menu, "Save as &App…", None, handlers["save_app"])
        file_menu.addSeparator()
    settings = _action(window, file_menu, "&Settings…", "Ctrl+,", handlers["settings"])
    file_menu.addSeparator()
    quit_ = _action(window, file_menu, "&Quit", "Ctrl+Q", handlers["quit"])
    edit_menu = bar.addMenu("&Edit")
    copy = _action(window, edit_menu, "&Copy Source", "Ctrl+Shift+C", handlers["copy"])
    edit = _action(window, edit_menu, "&Edit Last Message", "Ctrl+Shift+E", handlers["edit"])
    focus = _action(window, edit_menu, "&Focus Composer", "Ctrl+L", handlers["focus"])
    model = _action(window, bar.addMenu("&Model"), "&Choose Model…", "Ctrl+M", handlers["model"])
    gen_menu = bar.addMenu("&Generate")
    regen = _action(window, gen_menu, "&Regenerate", "Ctrl+R", handlers["regen"])
    # Esc is also the composer's own key; the action is for the menu and for focus elsewhere.
    stop = _action(window, gen_menu, "&Stop", None, handlers["stop"])
    stop.setShortcut(QKeySequence(Qt.Key.Key_Escape))
    stop.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    stop.setEnabled(False)
    about = _action(window, bar.addMenu("&Help"), "&About Artifacts Studio", None, handlers["about"])
    about.setMenuRole(QAction.MenuRole.AboutRole)  # the app menu on macOS
    return Actions(new, export, settings, quit_, copy, edit, focus, model, regen, stop, about, **apps)


__all__ = ["Actions", "build_menus"]
