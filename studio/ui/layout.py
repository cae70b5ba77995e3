"""The window's splitters: the chat (with its composer) beside the artifact pane, and the sidebar."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget


def chat_and_pane(chat: QWidget, composer: QWidget, pane: QWidget) -> QSplitter:
    """The chat above its composer, beside the artifact pane (2 : 3); its state is saved as the window's."""
    left = QWidget()
    box = QVBoxLayout(left)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(0)
    box.addWidget(chat, 1)
    box.addWidget(composer)
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.setObjectName("mainSplitter")
    splitter.addWidget(left)
    splitter.addWidget(pane)
    splitter.setChildrenCollapsible(False)
    splitter.setStretchFactor(0, 2)
    splitter.setStretchFactor(1, 3)
    return splitter


def with_sidebar(sidebar: QWidget, content: QWidget) -> QSplitter:
    """The conversations sidebar (at least 180 px) beside ``content``, which takes the extra width."""
    sidebar.setMinimumWidth(180)
    outer = QSplitter(Qt.Orientation.Horizontal)
    outer.addWidget(sidebar)
    outer.addWidget(content)
    outer.setStretchFactor(1, 1)
    outer.setSizes([240, 1160])
    return outer
