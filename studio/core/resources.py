"""Where the app's own read-only resources are (icons, the runtime manifest, the eval prompts)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # studio/


def resource_path(*parts: str) -> Path:
    """``resources/<parts>`` next to the package (checkout, editable install, PyInstaller bundle) or
    inside it (wheels): the first that exists, else the one next to the package."""
    for root in (_PACKAGE.parent / "resources", _PACKAGE / "resources"):
        if root.joinpath(*parts).exists():
            return root.joinpath(*parts)
    return _PACKAGE.parent.joinpath("resources", *parts)


__all__ = ["resource_path"]
