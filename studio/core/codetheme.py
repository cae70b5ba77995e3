"""Which colours code blocks in the chat use: the light or dark pygments style (no heavy imports).

The window's theme sets it at start and on every change; ``core.markdown_render``, which loads with the
first message, reads it when it highlights.
"""

from __future__ import annotations

CODE_BG = "#f4f5f7"
"""Background of code blocks in the light theme."""
CODE_THEMES = {"light": ("friendly", CODE_BG), "dark": ("github-dark", "#11151a")}
"""Per theme: the pygments style and the code background (readable on the chat's background)."""

_code_theme = "light"


def set_code_theme(name: str) -> None:
    """Colour code blocks for the "light" or "dark" theme from now on (already rendered HTML keeps its colours)."""
    global _code_theme
    if name not in CODE_THEMES:
        raise ValueError(f"unknown code theme {name!r}")
    _code_theme = name


def code_theme() -> str:
    """The code colours in use: "light" or "dark"."""
    return _code_theme


__all__ = ["CODE_BG", "CODE_THEMES", "code_theme", "set_code_theme"]
