"""Changing the window's model while it runs: the welcome view, the picker, and swapping controllers.

Choosing a model makes the engine on a worker thread (an engine import can take seconds), gives it a
new :class:`GenerationController` whose signals reach the window like the first one's did, loads the
model there (async), and saves the choice once the model has loaded. The old controller is retired
without blocking the GUI: an answer in flight is stopped first, a load in flight is let finish, and
only then is its thread joined (by then joining waits only for ``engine.close()``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMetaObject, QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QSplitter, QStackedWidget

from studio.ui.downloaddialog import DownloadDialog
from studio.ui.generation import GenerationController
from studio.ui.jobs import BackgroundJob, one_line, start_job
from studio.ui.welcome import WelcomeView, recommendation

if TYPE_CHECKING:
    from collections.abc import Callable

    from studio.engine.base import Engine
    from studio.models.catalog import Entry
    from studio.ui.mainwindow import MainWindow
    from studio.ui.modelpicker import ModelPicker

log = logging.getLogger("studio.ui.models")

SAVED_KEYS = ("model", "engine", "base_url", "device")


def short_name(model: str) -> str:
    """The last part of a path or repo id (a server's model name as it is)."""
    return Path(model).name or model


def connect_controller(window: MainWindow, ctl: GenerationController) -> list[QMetaObject.Connection]:
    """Connect a controller's signals to the window's handlers; returns the connections."""
    return [
        ctl.loading.connect(lambda path: window.status.set_model(f"Loading model {short_name(path)}…")),
        ctl.loaded.connect(lambda info: window.status.set_model(window._model_name())),
        ctl.loadFailed.connect(window._on_load_failed),
        ctl.delta.connect(window._on_delta),
        ctl.progress.connect(window._on_progress),
        ctl.finished.connect(window._on_finished),
    ]


def save_choice(window: MainWindow, engine: str, model: str, options: dict[str, Any]) -> None:
    """Save model, engine, base_url and device (never an API key) to the window's settings file."""
    from studio.store.settings import save_settings

    current = window.app_settings
    known = {f.name for f in dataclasses.fields(current)}
    values: dict[str, Any] = {
        "model": model,
        "engine": engine,
        "base_url": options.get("base_url", getattr(current, "base_url", None)),
        "device": options.get("device") or getattr(current, "device", "auto"),
    }
    new = dataclasses.replace(current, **{k: v for k, v in values.items() if k in known})
    try:
        save_settings(new, window.settings_file)
    except OSError as e:
        log.error("could not save the model choice: %s", e)
        window.status.set_note(f"The model choice could not be saved: {e}")
        return
    window.app_settings = new
    for key in SAVED_KEYS:  # the choice made in the window wins over this session's flags
        window.overridden.pop(key, None)


class ModelSwitcher(QObject):
    """The window's model: welcome view when there is none, picker, download, swap.

    Args:
        window: the main window (its splitter goes into a stack with the welcome view).
        engine_factory: ``(name, model, **options) -> Engine`` (default: the registry's create_engine).
        download_options: passed to download dialogs (endpoint, cache_dir, token).

    Signals:
        switched(object): a new controller's model has loaded (the controller).
        switchFailed(str): making the engine or loading the model failed (one line).
    """

    switched = Signal(object)
    switchFailed = Signal(str)

    def __init__(
        self,
        window: MainWindow,
        engine_factory: Callable[..., Engine] | None = None,
        download_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.engine_factory = engine_factory
        self.download_options = dict(download_options or {})
        self.welcome: WelcomeView | None = None
        self.picker: ModelPicker | None = None
        self.download_dialog: DownloadDialog | None = None
        self.fit_box: QMessageBox | None = None
        self.pending: tuple[str, str, dict[str, Any]] | None = None  # the choice being made
        self.retiring: list[GenerationController] = []
        self.last_retire_ms = 0.0  # how long the last join blocked the GUI thread
        self._conns: dict[int, list[QMetaObject.Connection]] = {}
        self._jobs: list[BackgroundJob] = []
        self._made: list[Engine] = []  # engines made on a worker, not yet given a controller
        self._closed = False
        self.stack = QStackedWidget()
        self.stack.setObjectName("modelStack")
        splitter = window.splitter
        holder = splitter.parentWidget()
        if isinstance(holder, QSplitter):
            holder.replaceWidget(holder.indexOf(splitter), self.stack)
        else:
            window.takeCentralWidget()
            window.setCentralWidget(self.stack)
        self.stack.addWidget(splitter)
        # Showing content (an opened .html file, a stored chat) leaves the welcome view.
        window.pane.rendered.connect(self._leave_welcome)
        if window.sidebar is not None:
            window.sidebar.conversationSelected.connect(self._leave_welcome)

    # -- the welcome view ----------------------------------------------------------------

    @property
    def welcome_shown(self) -> bool:
        return self.welcome is not None and self.stack.currentWidget() is self.welcome

    def show_welcome(self, error: str | None = None) -> WelcomeView:
        """Show the welcome view in place of the chat and preview (made on first use)."""
        if self.welcome is None:
            self.welcome = WelcomeView(checking=True)
            self._run(lambda job: recommendation(), self._on_recommendation, self._on_recommendation_failed)
            self.welcome.downloadRequested.connect(self.download_and_start)
            self.welcome.folderRequested.connect(lambda: self.open_picker("local").add_folder_dialog())
            self.welcome.serverRequested.connect(lambda: self.open_picker("remote"))
            self.welcome.pickerRequested.connect(lambda: self.open_picker("download"))
            self.stack.addWidget(self.welcome)
        self.welcome.show_error(error)
        self.stack.setCurrentWidget(self.welcome)
        return self.welcome

    def _on_recommendation(self, found: tuple[Entry | None, Any]) -> None:
        if self.welcome is not None:
            self.welcome.set_recommendation(*found)

    def _on_recommendation_failed(self, exc: BaseException) -> None:
        log.error("no model recommendation: %s", one_line(exc))
        if self.welcome is not None:
            self.welcome.set_recommendation(None, None)

    def _leave_welcome(self, *_: object) -> None:
        if self.welcome_shown:
            self.hide_welcome()

    def hide_welcome(self) -> None:
        self.stack.setCurrentWidget(self.window.splitter)
        self.window.composer.focus_input()

    # -- choosing ------------------------------------------------------------------------

    def open_picker(self, tab: str = "download") -> ModelPicker:
        """Open the model picker (window-modal) on a tab; its choice switches the model."""
        from studio.ui.modelpicker import ModelPicker

        if self.picker is not None and self.picker.isVisible():
            self.picker.tabs.setCurrentIndex(("download", "local", "remote").index(tab))
            return self.picker
        if self.picker is not None and self.picker.wait_jobs(0):
            self.picker.deleteLater()  # a closed picker with nothing left running
        self.picker = ModelPicker(
            tab=tab,
            base_url=getattr(self.window.app_settings, "base_url", None),
            download_options=self.download_options,
            native_dialogs=self.window.native_dialogs,
            parent=self.window,
        )
        self.picker.chosen.connect(self.choose)
        self.picker.open()
        return self.picker

    @Slot(object)
    def download_and_start(self, entry: Entry) -> None:
        """The welcome view's button: use the entry if it is in the cache, else download it first."""
        from studio.models.hfcache import installed_paths

        def found(path: str | None) -> None:
            if path:
                self.choose(entry.engine, path, {"catalog_id": entry.id})
                return
            dialog = DownloadDialog(entry=entry, options=self.download_options, parent=self.window)
            dialog.downloaded.connect(lambda p: self.choose(entry.engine, p, {"catalog_id": entry.id}))
            self.download_dialog = dialog
            dialog.open()

        cache_dir = self.download_options.get("cache_dir")
        self._run(lambda job: installed_paths([entry], cache_dir).get(entry.id), found, lambda e: found(None))

    @Slot(str, str, dict)
    def choose(self, engine: str, model: str, options: dict[str, Any]) -> QMessageBox | None:
        """Switch to a model; a catalog model that will not fit asks first (returns that box)."""
        from studio.models import catalog
        from studio.models.sysinfo import memory

        options = dict(options)
        entry = catalog.find(options.pop("catalog_id", "") or "")
        warning = None
        if entry is not None:
            try:
                warning = catalog.fit_warning(entry, memory())
            except OSError:
                warning = None
        if not warning:
            self.switch(engine, model, options)
            return None
        box = QMessageBox(QMessageBox.Icon.Warning, "This model may not fit", warning, parent=self.window)
        load = box.addButton("Load anyway", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)

        def answered(_: int) -> None:
            if box.clickedButton() is load:
                self.switch(engine, model, options)

        box.finished.connect(answered)
        self.fit_box = box
        box.open()
        return box

    def switch(self, engine: str, model: str, options: dict[str, Any] | None = None) -> None:
        """Retire the current controller and load ``model`` with a new one (returns at once)."""
        if self._closed:
            return
        options = dict(options or {})
        self.pending = (engine, model, options)
        old = self.window.controller
        self.window.controller = None
        if old is not None:
            self.retire(old)
        self.window.status.set_model(f"Loading model {short_name(model)}…")
        if self.welcome is not None:
            self.welcome.show_error(None)
        choice = self.pending
        self._run(
            lambda job: self._make_engine(engine, model, options),
            lambda e: self._on_made(e, choice),
            self._on_make_failed,
        )

    def _make_engine(self, engine: str, model: str, options: dict[str, Any]) -> Engine:
        """On a worker: the API key from the keyring (openai), then the engine."""
        opts = dict(options)
        if engine == "openai" and not opts.get("api_key") and opts.get("base_url"):
            from studio.store.secrets import get_api_key

            opts["api_key"] = get_api_key(opts["base_url"])
        from studio.models.registry import create_engine

        factory = self.engine_factory or create_engine
        made = factory(engine, model, **opts)
        self._made.append(made)
        return made

    def _on_made(self, engine: Engine, choice: tuple[str, str, dict[str, Any]]) -> None:
        if engine in self._made:
            self._made.remove(engine)
        if self._closed or choice is not self.pending:  # a newer choice (or the window closed) won
            _close_quietly(engine)
            return
        ctl = GenerationController(engine)
        self.window.controller = ctl
        self.attach(ctl)
        ctl.load(choice[1])

    @Slot(object)
    def _on_make_failed(self, exc: BaseException) -> None:
        self._failed(one_line(exc))
        self.window.chat.show_notice(f"The model could not be loaded: {one_line(exc)}", "error")
        self.window.status.set_model("Model not loaded")

    def _failed(self, message: str) -> None:
        self.pending = None
        self.show_welcome(f"The model could not be loaded: {message}")
        self.switchFailed.emit(message)

    # -- controllers ---------------------------------------------------------------------

    def attach(self, ctl: GenerationController) -> None:
        """Connect a controller to the window (and to this switcher's load handlers)."""
        conns = connect_controller(self.window, ctl)
        conns.append(ctl.loaded.connect(lambda info: self._on_loaded(ctl)))
        conns.append(ctl.loadFailed.connect(lambda message: self._on_load_failed(ctl, message)))
        self._conns[id(ctl)] = conns

    def _on_loaded(self, ctl: GenerationController) -> None:
        if ctl is not self.window.controller:
            return
        if self.pending is not None:
            engine, model, options = self.pending
            save_choice(self.window, engine, model, options)
            self.pending = None
        if self.welcome_shown:
            self.hide_welcome()
        self.switched.emit(ctl)

    def _on_load_failed(self, ctl: GenerationController, message: str) -> None:
        if ctl is not self.window.controller:
            return
        self.window.controller = None
        self.retire(ctl)
        self._failed(message)

    def retire(self, ctl: GenerationController) -> None:
        """Disconnect and shut a controller down without blocking the GUI on its model."""
        self.retiring.append(ctl)
        conns = self._conns.pop(id(ctl), [])
        if ctl.busy:  # the window still hears the "cancelled" end of its answer, then lets go
            ctl.finished.connect(lambda *_: QTimer.singleShot(0, lambda: self._join(ctl, conns)))
            ctl.stop()
            return
        _disconnect(conns)
        if ctl.is_loading:  # a load cannot be interrupted: join once it has ended
            ctl.loaded.connect(lambda *_: QTimer.singleShot(0, lambda: self._join(ctl, [])))
            ctl.loadFailed.connect(lambda *_: QTimer.singleShot(0, lambda: self._join(ctl, [])))
            return
        QTimer.singleShot(0, lambda: self._join(ctl, []))

    def _join(self, ctl: GenerationController, conns: list[QMetaObject.Connection]) -> None:
        _disconnect(conns)
        if ctl not in self.retiring:
            return
        self.retiring.remove(ctl)
        t0 = time.perf_counter()
        ctl.shutdown()  # idle now: waits only for engine.close() on its thread
        self.last_retire_ms = (time.perf_counter() - t0) * 1000
        log.info("retired the %s engine in %.0f ms", ctl.engine.name, self.last_retire_ms)
        ctl.deleteLater()

    # -- jobs and closing ----------------------------------------------------------------

    def _run(self, fn: Any, on_done: Any, on_error: Any) -> BackgroundJob:
        return start_job(self._jobs, fn, on_done, on_error)

    def shutdown(self) -> None:
        """Wait for the worker jobs and join every retired controller (the window is closing)."""
        self._closed = True
        for job in self._jobs:
            job.wait(60_000)
        for engine in self._made:
            _close_quietly(engine)
        self._made.clear()
        for ctl in list(self.retiring):
            self.retiring.remove(ctl)
            ctl.shutdown()
        if self.picker is not None:
            self.picker.wait_jobs()
        if self.download_dialog is not None:
            self.download_dialog.wait()


def _disconnect(conns: list[QMetaObject.Connection]) -> None:
    for conn in conns:
        try:
            QObject.disconnect(conn)
        except RuntimeError:  # already gone with its object
            pass


def _close_quietly(engine: Engine) -> None:
    try:
        engine.close()
    except Exception:
        log.exception("closing an unused engine failed")


__all__ = ["ModelSwitcher", "connect_controller", "save_choice", "short_name"]
