"""What the window shows when no model is configured (the first run): what the app does, the model
recommended for this machine, and the three ways to get one."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.models import catalog
from studio.models.catalog import Entry
from studio.models.sysinfo import Memory

log = logging.getLogger(__name__)

PITCH = (
    "Ask for something visual — a game, a simulation, a chart of your CSV — and it appears live "
    "beside the chat, runs sandboxed, and exports as one HTML file that works offline."
)
LOCAL_NOTE = "The model runs on this computer: no account, no cloud, nothing you type leaves it."

ENGINE_NAMES = {"mlx": "MLX", "llamacpp": "llama.cpp", "cuda": "CUDA (PyTorch)"}

_STYLE = """
#welcome { background: palette(window); }
#welcomeTitle { font-size: 26px; font-weight: 600; }
#welcomePitch { font-size: 15px; }
#welcomeNote, #recoFacts { color: palette(placeholder-text); }
#recoCard { border: 1px solid palette(mid); border-radius: 10px; background: palette(base); }
#recoHeading { color: palette(highlight); font-size: 11px; font-weight: 600; letter-spacing: 1px; }
#recoName { font-size: 17px; font-weight: 600; }
#recoLicence { color: #b06000; }
#welcomeError { color: #c5221f; }
QPushButton#primary { padding: 8px 18px; font-weight: 600; border: none; border-radius: 6px;
    background: palette(highlight); color: palette(highlighted-text); }
QPushButton#primary:disabled { background: palette(mid); }
QPushButton { padding: 6px 14px; }
"""


def recommendation() -> tuple[Entry | None, Memory | None]:
    """The catalog entry recommended for this machine's preferred engine (None: no local engine)."""
    from studio.models.registry import available_engines
    from studio.models.sysinfo import memory
    from studio.ui.modelpicker import preferred_first

    try:
        mem = memory()
    except OSError:
        return None, None
    engines = [e for e in preferred_first(available_engines()) if e in catalog.ENGINES]
    return (catalog.recommend(engines[0], mem), mem) if engines else (None, mem)


class WelcomeView(QWidget):
    """The first-run view: two lines about the app, the recommended model, three ways to start.

    Args:
        entry: the recommended catalog entry (None: no local engine is installed).
        memory: this machine's memory (for the fit line).
        checking: start with "Looking at this computer…" (then call :meth:`set_recommendation`).
        parent: the Qt parent.

    Signals:
        downloadRequested(object): "Download and start" for the recommended Entry.
        folderRequested(): "Use a model folder…".
        serverRequested(): "Connect to a server…".
        pickerRequested(): "Other models…" (the full catalog).
    """

    downloadRequested = Signal(object)
    folderRequested = Signal()
    serverRequested = Signal()
    pickerRequested = Signal()

    def __init__(
        self,
        entry: Entry | None = None,
        memory: Memory | None = None,
        *,
        checking: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(_STYLE)
        self.entry = entry
        title = QLabel("Artifacts Studio")
        title.setObjectName("welcomeTitle")
        pitch = QLabel(PITCH)
        pitch.setObjectName("welcomePitch")
        note = QLabel(LOCAL_NOTE)
        note.setObjectName("welcomeNote")
        for label in (pitch, note):
            label.setWordWrap(True)
        self.error = QLabel("")
        self.error.setObjectName("welcomeError")
        self.error.setWordWrap(True)
        self.error.hide()

        self.download_button = QPushButton("Download and start")
        self.download_button.setObjectName("primary")
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(self._download)
        self.folder_button = QPushButton("Use a model folder…")
        self.folder_button.clicked.connect(self.folderRequested)
        self.server_button = QPushButton("Connect to a server…")
        self.server_button.clicked.connect(self.serverRequested)
        self.more_button = QPushButton("Other models…")
        self.more_button.setFlat(True)
        self.more_button.clicked.connect(self.pickerRequested)

        card = QFrame()
        card.setObjectName("recoCard")
        inner = QVBoxLayout(card)
        inner.setContentsMargins(22, 18, 22, 18)
        inner.setSpacing(6)
        self.reco_heading = QLabel("RECOMMENDED FOR THIS COMPUTER")
        self.reco_heading.setObjectName("recoHeading")
        self.reco_name = QLabel("")
        self.reco_name.setObjectName("recoName")
        self.reco_facts = QLabel("")
        self.reco_facts.setObjectName("recoFacts")
        self.reco_facts.setWordWrap(True)
        self.reco_licence = QLabel("")
        self.reco_licence.setObjectName("recoLicence")
        for w in (self.reco_heading, self.reco_name, self.reco_facts, self.reco_licence):
            inner.addWidget(w)
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addStretch(1)
        buttons.addWidget(self.more_button)
        inner.addSpacing(8)
        inner.addLayout(buttons)

        others = QHBoxLayout()
        others.addWidget(QLabel("Or:"))
        others.addWidget(self.folder_button)
        others.addWidget(self.server_button)
        others.addStretch(1)

        column = QVBoxLayout()
        column.setSpacing(14)
        column.addWidget(title)
        column.addWidget(pitch)
        column.addWidget(note)
        column.addSpacing(10)
        column.addWidget(card)
        column.addLayout(others)
        column.addWidget(self.error)
        holder = QWidget()
        holder.setLayout(column)
        holder.setMaximumWidth(640)
        outer = QVBoxLayout(self)
        outer.addStretch(2)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(holder, 3)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(3)
        if checking:
            self.set_checking()
        else:
            self.set_recommendation(entry, memory)

    def set_checking(self) -> None:
        """While the machine is looked at (a worker thread): no recommendation yet."""
        self.checking = True
        self.download_button.setEnabled(False)
        self.reco_licence.hide()
        self.reco_name.setText("Looking at this computer…")
        self.reco_facts.setText("Its memory, and the engines installed here.")

    def set_recommendation(self, entry: Entry | None, memory: Memory | None) -> None:
        """Show a recommended entry (None: say that no local engine is installed)."""
        self.checking = False
        self.entry = entry
        self.download_button.setEnabled(entry is not None)
        self.reco_licence.setVisible(entry is not None and not entry.apache)
        if entry is None:
            self.reco_name.setText("No local engine is installed")
            self.reco_facts.setText(
                "Install one (pip install mlx-lm on a Mac, pip install 'artifacts-studio[llamacpp]' "
                "elsewhere), or connect to a server that already runs a model."
            )
            return
        need = f"needs about {entry.memory_gb:.1f} GB of memory"
        if memory is not None:
            need += f" ({memory.total_gb:.0f} GB here)"
        facts = [ENGINE_NAMES.get(entry.engine, entry.engine), f"{entry.download_gb:.1f} GB download", need]
        facts.append(entry.licence)
        self.reco_name.setText(entry.label.removesuffix(" (default)"))
        self.reco_facts.setText(" · ".join(facts))
        if not entry.apache:
            self.reco_licence.setText(f"{entry.licence} — not Apache-2.0: read it before commercial use.")

    def _download(self) -> None:
        if self.entry is not None:
            self.downloadRequested.emit(self.entry)

    def show_error(self, message: str | None) -> None:
        """One line under the choices (a model that failed to load); None hides it."""
        self.error.setText(message or "")
        self.error.setVisible(bool(message))


__all__ = ["LOCAL_NOTE", "PITCH", "WelcomeView", "recommendation"]
