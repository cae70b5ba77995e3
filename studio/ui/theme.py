"""The look: a light and a dark palette, one application style sheet, and which of them is on.

The mode is "system" (follow the platform's light or dark scheme, and its changes), "light" or
"dark": the ``theme`` setting, or ``STUDIO_THEME`` in the environment (it wins). :func:`install`
applies it once at start-up: the QPalette, one style sheet for the whole application (chat
bubbles, composer, cards, empty states, buttons) and the markdown code colours. Widgets that draw
colours themselves (rich text, the diff) listen to :attr:`ThemeManager.changed`.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from studio.core import codetheme
from studio.core.resources import resource_path

log = logging.getLogger(__name__)

MODES = ("system", "light", "dark")
ENV = "STUDIO_THEME"


@dataclass(frozen=True, slots=True)
class Palette:
    """The colours of one theme (CSS hex strings)."""

    name: str
    window: str
    base: str
    alt: str
    button: str
    text: str
    muted: str
    border: str
    accent: str
    accent_soft: str
    on_accent: str
    chat_bg: str
    user_bg: str
    user_border: str
    assistant_mark: str
    card: str
    error: str
    warn: str
    ok: str
    diff_add: tuple[str, str]
    diff_del: tuple[str, str]
    diff_hunk: tuple[str, str]

    @property
    def dark(self) -> bool:
        return self.name == "dark"


LIGHT = Palette(
    name="light", window="#f5f6f8", base="#ffffff", alt="#f0f2f5", button="#f6f8fa", text="#1f2328",
    muted="#636c76", border="#d0d7de", accent="#0b62c4", accent_soft="#ddeafb", on_accent="#ffffff",
    chat_bg="#fbfbfc", user_bg="#e3eefc", user_border="#c5d9f3", assistant_mark="#8a63d2", card="#ffffff",
    error="#b42318", warn="#9a6700", ok="#1a7f37",
    diff_add=("#e6ffec", "#116329"), diff_del=("#ffebe9", "#82071e"), diff_hunk=("#ddf4ff", "#0550ae"),
)  # fmt: skip
DARK = Palette(
    name="dark", window="#1d2025", base="#15181c", alt="#22262c", button="#2a2f36", text="#e6edf3",
    muted="#9198a1", border="#3a4049", accent="#4c9bf8", accent_soft="#1f3552", on_accent="#0d1117",
    chat_bg="#181b20", user_bg="#1d3049", user_border="#2c4c74", assistant_mark="#a98bef", card="#22272e",
    error="#f47067", warn="#d29922", ok="#57ab5a",
    diff_add=("#12301d", "#7ee2a1"), diff_del=("#3d1619", "#ffa198"), diff_hunk=("#132a45", "#79b8ff"),
)  # fmt: skip

_current = LIGHT


def current() -> Palette:
    """The palette in use now (light until :func:`install` says otherwise)."""
    return _current


def qpalette(p: Palette) -> QPalette:
    """A QPalette for the widgets Qt draws itself (Fusion uses every role here)."""
    pal = QPalette()
    roles = QPalette.ColorRole
    colours = {
        roles.Window: p.window, roles.WindowText: p.text, roles.Base: p.base, roles.AlternateBase: p.alt,
        roles.Text: p.text, roles.Button: p.button, roles.ButtonText: p.text, roles.BrightText: p.error,
        roles.Highlight: p.accent, roles.HighlightedText: p.on_accent, roles.ToolTipBase: p.card,
        roles.ToolTipText: p.text, roles.PlaceholderText: p.muted, roles.Link: p.accent,
        roles.LinkVisited: p.assistant_mark, roles.Light: p.base, roles.Midlight: p.alt, roles.Mid: p.border,
        roles.Dark: p.border, roles.Shadow: "#000000",
    }  # fmt: skip
    for role, colour in colours.items():
        pal.setColor(role, QColor(colour))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        pal.setColor(disabled, role, QColor(p.muted))
    return pal


def stylesheet(p: Palette) -> str:
    """The application style sheet for palette ``p``: spacing, type and the studio's own widgets."""
    return f"""
QToolTip {{ background: {p.card}; color: {p.text}; border: 1px solid {p.border}; padding: 4px; }}
QPushButton, QToolButton {{ background: {p.button}; color: {p.text}; border: 1px solid {p.border};
    border-radius: 6px; padding: 2px 4px; }}
QPushButton {{ padding: 3px 8px; min-height: 18px; }}
QPushButton:hover, QToolButton:hover {{ border-color: {p.accent}; }}
QPushButton:pressed, QToolButton:pressed, QToolButton:checked {{ background: {p.accent_soft};
    border-color: {p.accent}; }}
QPushButton:disabled, QToolButton:disabled {{ color: {p.muted}; border-color: {p.alt}; }}
QPushButton:default {{ border-color: {p.accent}; }}
QLineEdit, QComboBox {{ border: 1px solid {p.border}; border-radius: 6px;
    padding: 3px 6px; background: {p.base}; color: {p.text}; }}
QLineEdit:focus, QComboBox:focus {{ border-color: {p.accent}; }}
QTabWidget::pane {{ border: none; border-top: 1px solid {p.border}; }}
QTabBar::tab {{ padding: 5px 14px; border: none; color: {p.muted}; background: transparent; }}
QTabBar::tab:selected {{ color: {p.text}; border-bottom: 2px solid {p.accent}; }}
QListWidget {{ border: none; background: {p.window}; }}
QListWidget::item {{ padding: 5px 6px; border-radius: 6px; }}
QListWidget::item:selected {{ background: {p.accent_soft}; color: {p.text}; }}
QSplitter::handle {{ background: {p.border}; }}
QSplitter::handle:horizontal {{ width: 1px; }}
QSplitter::handle:vertical {{ height: 1px; }}
QLabel#emptyHint {{ color: {p.muted}; font-size: 13px; padding: 24px 40px; }}
QLabel#emptyTitle {{ color: {p.text}; font-size: 17px; font-weight: 600; }}
QLabel#artifactTitle {{ font-weight: 600; padding-left: 6px; }}
QLabel#selfCheck[ok="true"] {{ color: {p.ok}; }}
QLabel#selfCheck[ok="false"] {{ color: {p.error}; }}
QWidget#hungBar, QWidget#undoBar {{ background: {p.accent_soft}; }}
QLabel#compareSide {{ color: {p.muted}; font-weight: 600; padding: 2px 6px; }}

QWidget#chatColumn {{ background: {p.chat_bg}; }}
#chatColumn QFrame#userMsg {{ background: {p.user_bg}; border: 1px solid {p.user_border};
    border-radius: 12px; margin-left: 56px; }}
#chatColumn QFrame#assistantMsg {{ background: transparent; border: none;
    border-left: 3px solid {p.assistant_mark}; padding-left: 8px; }}
#chatColumn QLabel#role {{ font-size: 11px; font-weight: 700; }}
#chatColumn QFrame#userMsg QLabel#role {{ color: {p.accent}; }}
#chatColumn QFrame#assistantMsg QLabel#role {{ color: {p.assistant_mark}; }}
#chatColumn QLabel#chip {{ background: {p.card}; border: 1px solid {p.border}; border-radius: 8px;
    padding: 1px 6px; color: {p.text}; font-size: 11px; }}
#chatColumn QLabel#status {{ color: {p.muted}; font-style: italic; }}
#chatColumn QLabel#statusError {{ color: {p.error}; font-weight: 600; }}
#chatColumn QLabel#notice {{ color: {p.muted}; font-size: 12px; }}
#chatColumn QLabel#noticeError {{ color: {p.error}; font-size: 12px; }}
#chatColumn QFrame#artifactCard {{ background: {p.card}; border: 1px solid {p.border}; border-radius: 8px; }}
#chatColumn QFrame#artifactCard:hover {{ border: 1px solid {p.accent}; }}
#chatColumn QLabel#cardTitle {{ font-weight: 600; color: {p.text}; }}
#chatColumn QLabel#cardMeta {{ color: {p.muted}; font-size: 11px; }}
#chatColumn QLabel#thinkHead, #chatColumn QLabel#thinkBody {{ color: {p.muted}; font-size: 12px; }}

#composer {{ background: {p.chat_bg}; }}
#composer QPlainTextEdit#input {{ border: 1px solid {p.border}; border-radius: 8px; padding: 4px;
    background: {p.base}; color: {p.text}; }}
#composer QPlainTextEdit#input:focus {{ border: 1px solid {p.accent}; }}
#composer QFrame#chip {{ background: {p.alt}; border: 1px solid {p.border}; border-radius: 9px; }}
#composer QFrame#chip QLabel {{ color: {p.text}; font-size: 11px; }}
#composer QFrame#chip QToolButton {{ border: none; background: transparent; color: {p.muted};
    font-weight: 700; padding: 0px 2px; }}
#composer QFrame#chip QToolButton:hover {{ color: {p.error}; }}
#composer QLabel#refusal {{ color: {p.error}; font-size: 11px; }}

#welcome QLabel#recoLicence {{ color: {p.warn}; }}
#welcome QLabel#welcomeError, #welcome QLabel#installError {{ color: {p.error}; }}
"""


def rich_css(p: Palette | None = None) -> str:
    """The colours of the chat's rich text (Qt's CSS subset), for palette ``p`` (default: current)."""
    p = p or _current
    return (
        f"a {{ color: {p.accent}; }} td.codehead {{ color: {p.muted}; }} table.md {{ border-color: {p.border}; }}"
        f" th {{ background-color: {p.alt}; }} blockquote {{ color: {p.muted}; }} span.img {{ color: {p.muted}; }}"
    )


def icon(name: str) -> QIcon:
    """One of our own icons (``resources/icons/<name>.svg``), or an empty icon when it is missing."""
    path = resource_path("icons", f"{name}.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()


def mode_from(setting: str | None) -> str:
    """The mode to use: ``STUDIO_THEME`` when set to a known mode, else the setting, else "system"."""
    env = os.environ.get(ENV, "").strip().lower()
    if env in MODES:
        return env
    if env:
        log.warning("%s=%r is not one of %s; ignoring it", ENV, env, ", ".join(MODES))
    return setting if setting in MODES else "system"


class ThemeManager(QObject):
    """Applies the light or dark theme to the application and follows the system's scheme.

    Signals:
        changed(str): the palette now in use ("light" or "dark").
    """

    changed = Signal(str)

    def __init__(self, app: QApplication, mode: str = "system") -> None:
        super().__init__(app)
        self._app = app
        self._mode = mode if mode in MODES else "system"
        self._system = app.styleHints().colorScheme()
        self._applied: str | None = None
        app.styleHints().colorSchemeChanged.connect(self._on_system_scheme)
        if sys.platform.startswith("linux"):
            app.setStyle("Fusion")  # draws with the palette in light and dark alike

    @property
    def mode(self) -> str:
        """ "system", "light" or "dark"."""
        return self._mode

    def palette_name(self) -> str:
        """The palette the mode means now ("light" or "dark")."""
        if self._mode != "system":
            return self._mode
        return "dark" if self._system == Qt.ColorScheme.Dark else "light"

    def set_mode(self, mode: str) -> None:
        """Use ``mode`` ("system", "light" or "dark") from now on."""
        if mode not in MODES:
            raise ValueError(f"unknown theme {mode!r}: use one of {', '.join(MODES)}")
        self._mode = mode
        self.apply()

    def apply(self) -> None:
        """Apply the palette the mode means now (no-op when it is already applied)."""
        global _current
        name = self.palette_name()
        if name == self._applied:
            return
        p = DARK if name == "dark" else LIGHT
        _current = p
        codetheme.set_code_theme(name)  # markdown_render (loaded with the first message) reads it
        self._app.setPalette(qpalette(p))
        self._app.setStyleSheet(stylesheet(p))
        self._applied = name
        log.info("theme: %s (mode %s)", name, self._mode)
        self.changed.emit(name)

    def _on_system_scheme(self, scheme: Qt.ColorScheme) -> None:
        self._system = scheme
        if self._mode == "system":
            self.apply()


_manager: ThemeManager | None = None


def install(app: QApplication, mode: str = "system") -> ThemeManager:
    """Make (or reuse) the application's theme manager with ``mode`` and apply it."""
    global _manager
    if _manager is None or _manager.parent() is not app:
        _manager = ThemeManager(app, mode)
    else:
        _manager._mode = mode if mode in MODES else "system"
    _manager.apply()
    return _manager


def manager() -> ThemeManager | None:
    """The installed theme manager, if any (widgets connect to its ``changed``)."""
    return _manager
