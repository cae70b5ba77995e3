"""Choose a model: download one from the catalog, use one on this computer, or connect to a server.

What the dialog shows is gathered on a worker thread (memory, engines, the Hugging Face cache, the
list of added folders); adding a folder, testing a server and saving an API key run there too, so the
GUI thread never waits on the disk, the network or the keyring. The choice leaves as one signal,
``chosen(engine, model, options)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.models import catalog
from studio.models.catalog import Entry
from studio.ui.catalogtable import (  # re-exported: tests and other modules import them from here
    COLUMNS,
    FIT_COLOURS,
    CatalogModel,
    CatalogTable,
    MachineInfo,
    gather,
    licence_text,
    preferred_first,
)
from studio.ui.downloaddialog import DownloadDialog, human_bytes
from studio.ui.jobs import BackgroundJob, one_line, start_job
from studio.ui.serverform import ServerForm, list_server_models

log = logging.getLogger(__name__)

TABS = ("download", "local", "remote")
LOCAL_ENGINES = ("mlx", "llamacpp", "cuda")
DEFAULT_SIZE = QSize(1200, 640)  # every catalog column readable; shrunk to fit a smaller screen


class ModelPicker(QDialog):
    """Three tabs (Download, On this computer, Remote server) and an engine choice.

    Args:
        tab: the tab to open on ("download", "local" or "remote").
        base_url: the server to prefill (the saved settings').
        download_options: passed to the download dialog (endpoint, cache_dir, token).
        native_dialogs: use the platform's folder dialog (False in tests).
        machine: what gathers the machine facts on a worker thread (default :func:`gather`).
        parent: the Qt parent.

    Signals:
        chosen(str, str, dict): engine, model (path, repo id or server model name) and engine options
            (``base_url``, ``api_key``, ``device``; ``catalog_id`` for a catalog model).
        ready(): the machine facts are in (rows shown).
    """

    chosen = Signal(str, str, dict)
    ready = Signal()

    def __init__(
        self,
        *,
        tab: str = "download",
        base_url: str | None = None,
        download_options: dict[str, Any] | None = None,
        native_dialogs: bool = True,
        machine: Callable[[], MachineInfo] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose a Model")
        self.resize(fitted_size(self, DEFAULT_SIZE))
        self.download_options = dict(download_options or {})
        self.native_dialogs = native_dialogs
        self.info: MachineInfo | None = None
        self.download_dialog: DownloadDialog | None = None
        self._jobs: list[BackgroundJob] = []
        self.tabs = QTabWidget()
        self.tabs.addTab(self._download_tab(), "Download")
        self.tabs.addTab(self._local_tab(), "On this computer")
        self.tabs.addTab(self._remote_tab(base_url), "Remote server")
        self.tabs.setCurrentIndex(TABS.index(tab))
        self.engine = QComboBox()
        self.engine.currentIndexChanged.connect(self._engine_changed)
        self.device = QLineEdit("auto")
        self.device.setPlaceholderText("auto, cpu, cuda or cuda:N")
        self.device.setMaximumWidth(160)
        self.engine_note = QLabel("")
        self.engine_note.setObjectName("engineNote")
        bottom = QHBoxLayout()
        for w in (QLabel("Engine"), self.engine, QLabel("Device"), self.device, self.engine_note):
            bottom.addWidget(w)
        bottom.addStretch(1)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(bottom)
        cache_dir = self.download_options.get("cache_dir")
        facts = machine or (lambda: gather(cache_dir))
        self._run(lambda job: facts(), self._on_gathered)

    # -- tabs ----------------------------------------------------------------------------

    def _download_tab(self) -> QWidget:
        self.catalog_model = CatalogModel(self)
        self.table = CatalogTable(self.catalog_model)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.doubleClicked.connect(lambda _: self.use_or_download())
        self.fit_label = QLabel("Reading this machine's memory and the models already downloaded…")
        self.fit_label.setObjectName("fitWarning")
        self.fit_label.setWordWrap(True)
        self.download_button = QPushButton("Download")
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(self.use_or_download)
        self.download_button.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(self.fit_label, 1)
        row.addWidget(self.download_button)
        page = QWidget()
        box = QVBoxLayout(page)
        box.addWidget(self.table, 1)
        box.addLayout(row)
        return page

    def _local_tab(self) -> QWidget:
        self.local_list = QListWidget()
        self.local_list.itemDoubleClicked.connect(lambda _: self.use_local())
        self.local_error = QLabel("")
        self.local_error.setObjectName("localError")
        self.local_error.setStyleSheet(f"color: {FIT_COLOURS['too large']}")
        add = QPushButton("Add folder…")
        add.clicked.connect(self.add_folder_dialog)
        self.use_local_button = QPushButton("Use")
        self.use_local_button.clicked.connect(self.use_local)
        row = QHBoxLayout()
        row.addWidget(self.local_error, 1)
        row.addWidget(add)
        row.addWidget(self.use_local_button)
        page = QWidget()
        box = QVBoxLayout(page)
        box.addWidget(QLabel("Model folders on this computer (safetensors or GGUF, with a tokenizer):"))
        box.addWidget(self.local_list, 1)
        box.addLayout(row)
        return page

    def _remote_tab(self, base_url: str | None) -> QWidget:
        self.server = ServerForm(base_url, self)
        self.server.useRequested.connect(lambda model, opts: self.chosen.emit("openai", model, opts))
        return self.server

    # -- machine facts -------------------------------------------------------------------

    def _run(self, fn: Any, on_done: Any, on_error: Any = None) -> BackgroundJob:
        return start_job(self._jobs, fn, on_done, on_error or self._on_job_error)

    @Slot(object)
    def _on_job_error(self, exc: BaseException) -> None:
        log.error("model picker: %s", one_line(exc))
        self.fit_label.setText(f"Could not read this machine: {one_line(exc)}")

    @Slot(object)
    def _on_gathered(self, info: MachineInfo) -> None:
        from studio.models.registry import INSTALL_HINT

        self.info = info
        self.engine.blockSignals(True)
        self.engine.clear()
        self.engine.addItem("auto", "auto")
        for name in info.engines:
            self.engine.addItem(name, name)
        for name in LOCAL_ENGINES:
            if name not in info.engines:
                self.engine.addItem(f"{name} — not installed: {INSTALL_HINT.get(name, '')}", name)
                item = self.engine.model().item(self.engine.count() - 1)  # type: ignore[attr-defined]
                item.setEnabled(False)
        self.engine.blockSignals(False)
        self._engine_changed()
        self._show_local(info.local, info.local_error)
        self.ready.emit()

    def engine_choice(self) -> str:
        return str(self.engine.currentData() or "auto")

    @Slot()
    def _engine_changed(self) -> None:
        engine = self.engine_choice()
        self.device.setEnabled(engine == "cuda")
        info = self.info
        if info is None:
            return
        engines = info.engines if engine == "auto" else [engine]
        rows = [e for e in catalog.catalog() if e.engine in engines]
        recommended = info.recommended(engines[0] if engines else None)
        self.catalog_model.set_rows(rows, info, recommended)
        self.engine_note.setText("" if info.engines else "No local engine is installed: connect to a server.")
        if recommended is not None:
            self.select_entry(recommended.id)
        elif not rows:
            self.fit_label.setText("No engine that runs catalog models is installed here.")

    def select_entry(self, entry_id: str) -> bool:
        """Select a catalog row by entry id (True when it is listed)."""
        for row, e in enumerate(self.catalog_model.rows):
            if e.id == entry_id:
                self.table.reveal(row)
                return True
        return False

    def selected_entry(self) -> Entry | None:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid():
            return None
        entry: Entry = self.catalog_model.rows[index.row()]
        return entry

    @Slot()
    def _row_changed(self) -> None:
        entry = self.selected_entry()
        self.download_button.setEnabled(entry is not None)
        if entry is None:
            return
        installed = self.info is not None and entry.id in self.info.installed
        self.download_button.setText("Use" if installed else "Download")
        mem = self.info.memory if self.info else None
        warning = catalog.fit_warning(entry, mem) if mem else None
        lines = [warning] if warning else [f"{entry.label}: fits this machine comfortably."]
        if not entry.apache:
            lines.append(f"Licence: {licence_text(entry)} (read it before any commercial use).")
        self.fit_label.setText(" ".join(lines))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._reveal_selection)  # once laid out, so the row lands in view

    @Slot()
    def _reveal_selection(self) -> None:
        if (entry := self.selected_entry()) is not None:
            self.select_entry(entry.id)

    # -- choosing ------------------------------------------------------------------------

    def _options(self, engine: str) -> dict[str, Any]:
        device = self.device.text().strip()
        return {"device": device} if engine == "cuda" and device and device != "auto" else {}

    @Slot()
    def use_or_download(self) -> DownloadDialog | None:
        """ "Use" an installed catalog row, else download it first (then use it)."""
        entry = self.selected_entry()
        if entry is None:
            return None
        path = self.info.installed.get(entry.id) if self.info else None
        if path:
            self._choose_entry(entry, path)
            return None
        dialog = DownloadDialog(entry=entry, options=self.download_options, parent=self)
        dialog.downloaded.connect(lambda p: self._choose_entry(entry, p))
        self.download_dialog = dialog
        dialog.open()
        return dialog

    def _choose_entry(self, entry: Entry, path: str) -> None:
        if self.info is not None:
            self.info.installed[entry.id] = path
        options = {**self._options(entry.engine), "catalog_id": entry.id}
        self.chosen.emit(entry.engine, path, options)
        self.accept()

    # -- on this computer ----------------------------------------------------------------

    def _show_local(self, models: list[Any], error: str | None = None) -> None:
        self.local_list.clear()
        for m in models:
            size = f" · {human_bytes(m.size_bytes)}" if getattr(m, "size_bytes", None) else ""
            engines = ", ".join(getattr(m, "engines", ()) or ())
            item = QListWidgetItem(f"{m.name}  ({m.format}{size}; {engines})\n{m.path}")
            item.setData(Qt.ItemDataRole.UserRole, m)
            self.local_list.addItem(item)
        if models:
            self.local_list.setCurrentRow(0)
        self.local_error.setText(error or "")

    @Slot()
    def add_folder_dialog(self) -> QFileDialog:
        """Ask for a model folder (window-modal); the folder is checked, then listed."""
        dialog = QFileDialog(self, "Add a Model Folder")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, not self.native_dialogs)
        dialog.fileSelected.connect(self.add_folder)
        dialog.open()
        return dialog

    @Slot(str)
    def add_folder(self, path: str) -> None:
        """Check a folder (worker thread) and add it to the list; a problem shows as one line."""
        self.local_error.setText(f"Checking {Path(path).name}…")

        def work(job: BackgroundJob) -> list[Any]:
            from studio.models.localmodels import add_model, installed_models, validate_folder

            validate_folder(path)
            add_model(path)
            return list(installed_models(cache_dir=self.download_options.get("cache_dir")))

        self._run(work, self._on_added, self._on_add_failed)

    @Slot(object)
    def _on_added(self, models: list[Any]) -> None:
        self._show_local(models)
        if self.info is not None:
            self.info.local = models
        for i in range(self.local_list.count()):  # select the folder just added (the newest entry)
            self.local_list.setCurrentRow(i)
        self.local_error.setText("")

    @Slot(object)
    def _on_add_failed(self, exc: BaseException) -> None:
        self.local_error.setText(f"Not added: {one_line(exc)}")

    @Slot()
    def use_local(self) -> None:
        item = self.local_list.currentItem()
        if item is None:
            self.local_error.setText("Add a model folder first.")
            return
        m = item.data(Qt.ItemDataRole.UserRole)
        engine = self.engine_choice()
        engines = list(getattr(m, "engines", ()) or ())
        if engine == "auto" and engines:
            runnable = [e for e in engines if self.info is None or e in self.info.engines]
            engine = (runnable or engines)[0]
        self.chosen.emit(engine, str(m.path), self._options(engine))
        self.accept()

    # -- closing -------------------------------------------------------------------------

    def wait_jobs(self, ms: int = 15_000) -> bool:
        """Wait for the worker threads (closing, tests); True when all have ended."""
        ok = all(job.wait(ms) for job in self._jobs)
        if self.download_dialog is not None:
            ok = self.download_dialog.wait(ms) and ok
        return ok and self.server.wait_jobs(ms)


def fitted_size(widget: QWidget, wanted: QSize) -> QSize:
    """``wanted``, shrunk to the available area of the widget's screen (never larger than it)."""
    screen = widget.screen()
    if screen is None:
        return wanted
    area = screen.availableGeometry()
    return wanted.boundedTo(QSize(area.width(), area.height()))


__all__ = [
    "COLUMNS",
    "FIT_COLOURS",
    "LOCAL_ENGINES",
    "CatalogModel",
    "MachineInfo",
    "ModelPicker",
    "ServerForm",
    "gather",
    "licence_text",
    "list_server_models",
    "preferred_first",
]
