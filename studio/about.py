"""The app's identity: name, version, icon, and the Help > About box."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from studio import APP_NAME, __version__

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QMessageBox, QWidget

ICON_NAME = "artifacts-studio"


def icons_dir() -> Path:
    """resources/icons next to the package (checkout, editable install, PyInstaller bundle)."""
    from studio.core.resources import resource_path

    return resource_path("icons", f"{ICON_NAME}.svg").parent


def app_icon() -> QIcon:
    """The app icon: the rendered PNG sizes when bundled, else the SVG source (Qt renders it)."""
    from PySide6.QtGui import QIcon

    folder = icons_dir()
    icon = QIcon()
    pngs = sorted((folder / "png").glob("*.png")) if (folder / "png").is_dir() else []
    for png in pngs:
        icon.addFile(str(png))
    if not pngs:
        icon.addFile(str(folder / f"{ICON_NAME}.svg"))
    return icon


def about_text() -> str:
    """The About box's rich text: name, version, what it does, the toolkit versions."""
    import PySide6

    return (
        f"<h3>{APP_NAME}</h3><p>Version {__version__}</p>"
        "<p>Ask a local code model for something visual and interactive; "
        "watch it appear live, sandboxed, versioned and exportable.</p>"
        f"<p><small>Python {sys.version.split()[0]} · Qt for Python {PySide6.__version__}</small></p>"
    )


def about_box(parent: QWidget | None = None) -> QMessageBox:
    """A non-modal About box (shown, not exec'd, so tests and the event loop keep running)."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(parent)
    box.setObjectName("aboutBox")
    box.setWindowTitle(f"About {APP_NAME}")
    box.setIconPixmap(app_icon().pixmap(96, 96))
    box.setText(about_text())
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setModal(False)
    box.show()
    return box
