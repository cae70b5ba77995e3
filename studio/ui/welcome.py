"""What the window shows when no model is configured (the first run): what the app does, the model
recommended for this machine, and the three ways to get one.

From a source checkout without llama-cpp-python (not in the bundle, not on Apple silicon) it also
offers "Install the llama.cpp engine": pip runs on a worker thread (:mod:`studio.models.engineinstall`)
with its progress shown, Cancel stops it, and the recommendation is then made again, so the engine is
used without a restart."""

from __future__ import annotations

import logging
import threading
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

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
#installNote, #installStep { color: palette(placeholder-text); }
QPushButton#primary { padding: 8px 18px; font-weight: 600; border: none; border-radius: 6px;
    background: palette(highlight); color: palette(highlighted-text); }
QPushButton#primary:disabled { background: palette(mid); }
QPushButton { padding: 6px 14px; }
"""


def recommendation() -> tuple[Entry | None, Memory | None, str | None]:
    """The catalog entry recommended for this machine's preferred engine (None: no local engine), this
    machine's memory, and the engine the view offers to install (:func:`engineinstall.install_offer`)."""
    from studio.models.engineinstall import install_offer
    from studio.models.registry import available_engines
    from studio.models.sysinfo import memory
    from studio.ui.modelpicker import preferred_first

    offer = install_offer()
    try:
        mem = memory()
    except OSError:
        return None, None, offer
    engines = [e for e in preferred_first(available_engines()) if e in catalog.ENGINES]
    return (catalog.recommend(engines[0], mem), mem, offer) if engines else (None, mem, offer)


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
        engineInstalled(str): the engine "Install the llama.cpp engine" installed ("llamacpp").
    """

    downloadRequested = Signal(object)
    folderRequested = Signal()
    serverRequested = Signal()
    pickerRequested = Signal()
    engineInstalled = Signal(str)

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
        column.addWidget(self._install_row())
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

    def set_recommendation(
        self, entry: Entry | None, memory: Memory | None, offer: str | None = None
    ) -> None:
        """Show a recommended entry (None: say that no local engine is installed), and the engine
        install offer (``offer``: an engine to install; None: no offer)."""
        self.checking = False
        self._show_offer(offer)
        self.entry = entry
        self.download_button.setEnabled(entry is not None)
        self.reco_licence.setVisible(entry is not None and not entry.apache)
        if entry is None and offer:
            self.reco_name.setText("No local engine is installed")
            self.reco_facts.setText(
                "Install the llama.cpp engine below, or connect to a server that runs a model."
            )
            return
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

    # -- installing the llama.cpp engine (a source checkout's first run) ------------------------------

    def _install_row(self) -> QWidget:
        """The offer: a note, "Install the llama.cpp engine", pip's progress; hidden until offered."""
        self.install_python: str | None = None  # the interpreter pip installs into (None: this one)
        self.installing = False
        self._install_stop = threading.Event()
        self._install_jobs: list[Any] = []
        self.install_note = QLabel(
            "llama.cpp runs models on this computer's processor, about ten times faster than MLX's CPU "
            "build, and it is not installed in this copy of the app. Installing it takes seconds when "
            "pip has it cached, and 8 to 30 minutes when pip has to compile llama.cpp."
        )
        self.install_note.setObjectName("installNote")
        self.install_note.setWordWrap(True)
        self.install_button = QPushButton(INSTALL_TEXT)
        self.install_button.clicked.connect(self._install_clicked)
        self.install_bar = QProgressBar()
        self.install_bar.setTextVisible(False)
        self.install_bar.hide()
        self.install_step = QLabel("")
        self.install_step.setObjectName("installStep")
        self.install_error = QLabel("")
        self.install_error.setObjectName("installError")
        self.install_error.setWordWrap(True)
        for label in (self.install_step, self.install_error):
            label.hide()
        self.install_box = QWidget()
        box = QVBoxLayout(self.install_box)
        box.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.install_button)
        row.addWidget(self.install_bar, 1)
        for w in (self.install_note, self.install_step, self.install_error):
            box.addWidget(w)
        box.insertLayout(1, row)
        self.install_box.hide()
        self.offer: str | None = None
        return self.install_box

    def _show_offer(self, offer: str | None) -> None:
        self.offer = offer
        self.install_box.setVisible(offer is not None or self.installing)

    def _install_clicked(self) -> None:
        if self.installing:
            self._install_stop.set()
            self.install_button.setEnabled(False)
            self.install_step.setText("Stopping pip…")
        elif self.offer is not None:
            self.start_install(self.offer)

    def start_install(self, engine: str) -> None:
        """Run pip for ``engine`` on a worker thread, with its steps shown; the button turns to Cancel."""
        from studio.models.engineinstall import install_engine
        from studio.ui.jobs import start_job

        self.installing = True
        self._install_stop = threading.Event()
        stop, python = self._install_stop, self.install_python
        self.install_button.setText("Cancel")
        self.install_bar.setRange(0, 0)  # busy until a compile reports its percentage
        self.install_bar.show()
        self.install_error.hide()
        self.install_step.setText("Starting pip…")
        self.install_step.show()
        job = start_job(
            self._install_jobs,
            lambda job: install_engine(engine, on_step=job.report, cancelled=stop, python=python),
            lambda _: self._install_ended(engine, None),
            lambda exc: self._install_ended(engine, exc),
        )
        job.reported.connect(self._install_progress)
        if (app := QApplication.instance()) is not None:  # quitting stops pip (a retry starts over)
            app.aboutToQuit.connect(self.wait_install, Qt.ConnectionType.UniqueConnection)

    def _install_progress(self, step: Any) -> None:
        if step.percent is not None:
            self.install_bar.setRange(0, 100)
            self.install_bar.setValue(step.percent)
        line = step.line if len(step.line) <= 110 else step.line[:107] + "…"
        self.install_step.setText(line)

    def _install_ended(self, engine: str, exc: BaseException | None) -> None:
        from studio.models.engineinstall import InstallCancelled
        from studio.ui.jobs import one_line

        self.installing = False
        self.install_button.setEnabled(True)
        self.install_button.setText(INSTALL_TEXT)
        self.install_bar.hide()
        self.install_step.hide()
        if exc is None:
            log.info("installed the %s engine from the welcome view", engine)
            self.install_box.hide()
            self.set_checking()
            from studio.ui.jobs import start_job

            start_job(self._install_jobs, lambda job: recommendation(), self._rechecked, self._recheck_failed)
            self.engineInstalled.emit(engine)
            return
        cancelled = isinstance(exc, InstallCancelled)
        self.install_error.setText("Install cancelled." if cancelled else one_line(exc))
        self.install_error.show()

    def _rechecked(self, found: tuple[Entry | None, Memory | None, str | None]) -> None:
        self.set_recommendation(*found)

    def _recheck_failed(self, exc: BaseException) -> None:
        log.error("no model recommendation after the install: %s", exc)
        self.set_recommendation(None, None)

    @Slot()
    def wait_install(self, ms: int = 30_000) -> bool:
        """Stop a running install and wait for its worker (quitting, tests); True when it has ended."""
        self._install_stop.set()
        return all(job.wait(ms) for job in self._install_jobs)


INSTALL_TEXT = "Install the llama.cpp engine"

__all__ = ["INSTALL_TEXT", "LOCAL_NOTE", "PITCH", "WelcomeView", "recommendation"]
