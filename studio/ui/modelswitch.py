"""Changing the model while the app runs: the welcome view, the picker, and swapping controllers.

Choosing a model makes the engine on a worker thread (an engine import can take seconds), gives it a
new :class:`GenerationController` that the :class:`~studio.ui.answerrunner.AnswerRunner` hears like
the first one, loads the model there (async), and saves the choice once the model has loaded. The old controller is retired
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
from PySide6.QtWidgets import QMessageBox, QStackedWidget, QWidget

from studio.ui.downloaddialog import DownloadDialog
from studio.ui.generation import GenerationController
from studio.ui.jobs import BackgroundJob, one_line, start_job
from studio.ui.welcome import WelcomeView, recommendation

if TYPE_CHECKING:
    from collections.abc import Callable

    from studio.engine.base import Engine
    from studio.models.catalog import Entry
    from studio.store.settings import SettingsState
    from studio.ui.answerrunner import AnswerRunner
    from studio.ui.chatview import ChatView
    from studio.ui.modelpicker import ModelPicker
    from studio.ui.statusbar import StudioStatusBar

log = logging.getLogger(__name__)

SAVED_KEYS = ("model", "engine", "base_url", "device")


def short_name(model: str) -> str:
    """The last part of a path or repo id (a server's model name as it is)."""
    return Path(model).name or model


def model_label(ctl: GenerationController | None) -> str:
    """The status bar's model text: "name (engine)"."""
    if ctl is None:
        return "No model"
    info = ctl.engine.model
    engine = ctl.engine.name
    return f"{info.name} ({engine})" if info else f"No model loaded ({engine})"


def save_choice(
    prefs: SettingsState, engine: str, model: str, options: dict[str, Any], status: StudioStatusBar
) -> None:
    """Save model, engine, base_url and device (never an API key) to the settings file."""
    from studio.store.settings import save_settings

    current = prefs.saved
    known = {f.name for f in dataclasses.fields(current)}
    values: dict[str, Any] = {
        "model": model,
        "engine": engine,
        "base_url": options.get("base_url", getattr(current, "base_url", None)),
        "device": options.get("device") or getattr(current, "device", "auto"),
    }
    new = dataclasses.replace(current, **{k: v for k, v in values.items() if k in known})
    try:
        save_settings(new, prefs.file)
    except OSError as e:
        log.error("could not save the model choice: %s", e)
        status.set_note(f"The model choice could not be saved: {e}")
        return
    prefs.saved = new
    for key in SAVED_KEYS:  # the choice made in the window wins over this session's flags
        prefs.overridden.pop(key, None)


class ModelSwitcher(QObject):
    """The model: welcome view when there is none, picker, download, swap.

    Args:
        runner: runs the answers; the switcher hands it each new controller.
        prefs: the settings (a choice that loaded is saved there).
        content: the chat and preview; :attr:`stack` shows it or the welcome view (place the stack).
        chat, status: where failures and the model's name are shown.
        native_dialogs: use the platform's file dialogs in the picker.
        parent: the widget dialogs open over.
        engine_factory: ``(name, model, **options) -> Engine`` (default: the registry's create_engine).
        download_options: passed to download dialogs (endpoint, cache_dir, token).

    Signals:
        switched(object): a new controller's model has loaded (the controller).
        switchFailed(str): making the engine or loading the model failed (one line).
        welcomeClosed(): the welcome view gave way to the chat.
    """

    switched = Signal(object)
    switchFailed = Signal(str)
    welcomeClosed = Signal()

    def __init__(
        self,
        runner: AnswerRunner,
        prefs: SettingsState,
        content: QWidget,
        *,
        chat: ChatView,
        status: StudioStatusBar,
        parent: QWidget,
        native_dialogs: bool = True,
        engine_factory: Callable[..., Engine] | None = None,
        download_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner, self.prefs, self.content = runner, prefs, content
        self.chat, self.status, self.parent_widget = chat, status, parent
        self.native_dialogs = native_dialogs
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
        self.stack.addWidget(content)
        runner.modelLoading.connect(lambda path: status.set_model(f"Loading model {short_name(path)}…"))
        runner.modelLoaded.connect(lambda info: status.set_model(model_label(runner.controller)))
        runner.modelLoadFailed.connect(self._show_load_failed)

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

    @Slot()
    def leave_welcome(self, *_: object) -> None:
        """Content is shown (an opened .html file, a stored chat): leave the welcome view."""
        if self.welcome_shown:
            self.hide_welcome()

    def hide_welcome(self) -> None:
        self.stack.setCurrentWidget(self.content)
        self.welcomeClosed.emit()

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
            base_url=getattr(self.prefs.saved, "base_url", None),
            download_options=self.download_options,
            native_dialogs=self.native_dialogs,
            parent=self.parent_widget,
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
            dialog = DownloadDialog(entry=entry, options=self.download_options, parent=self.parent_widget)
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
        box = QMessageBox(
            QMessageBox.Icon.Warning, "This model may not fit", warning, parent=self.parent_widget
        )
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
        options = {**self._speed_options(), **(options or {})}
        self.pending = (engine, model, options)
        old = self.runner.controller
        self.runner.set_controller(None)
        if old is not None:
            self.retire(old)
        self.status.set_model(f"Loading model {short_name(model)}…")
        if self.welcome is not None:
            self.welcome.show_error(None)
        choice = self.pending
        self._run(
            lambda job: self._make_engine(engine, model, options),
            lambda e: self._on_made(e, choice),
            self._on_make_failed,
        )

    def _speed_options(self) -> dict[str, Any]:
        """The settings' speculative decoding (prompt lookup, draft model), as at start-up; unset ones
        are left out so each engine's own default applies (a draft that cannot draft is skipped)."""
        current = self.prefs.effective()
        values = {key: getattr(current, key, None) for key in ("prompt_lookup", "draft_model")}
        return {key: value for key, value in values.items() if value is not None}

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
        self.attach(ctl)
        self.runner.set_controller(ctl)
        ctl.load(choice[1])

    @Slot(object)
    def _on_make_failed(self, exc: BaseException) -> None:
        self._failed(one_line(exc))
        self.chat.show_notice(f"The model could not be loaded: {one_line(exc)}", "error")
        self.status.set_model("Model not loaded")

    def _failed(self, message: str) -> None:
        self.pending = None
        self.show_welcome(f"The model could not be loaded: {message}")
        self.switchFailed.emit(message)

    # -- controllers ---------------------------------------------------------------------

    @Slot(str)
    def _show_load_failed(self, message: str) -> None:
        self.status.set_model("Model not loaded")
        self.chat.show_notice(f"The model could not be loaded: {message}", "error")

    def attach(self, ctl: GenerationController) -> None:
        """Connect a controller to the runner (and to this switcher's load handlers)."""
        conns = self.runner.connect_controller(ctl)
        conns.append(ctl.loaded.connect(lambda info: self._on_loaded(ctl)))
        conns.append(ctl.loadFailed.connect(lambda message: self._on_load_failed(ctl, message)))
        self._conns[id(ctl)] = conns

    def _on_loaded(self, ctl: GenerationController) -> None:
        if ctl is not self.runner.controller:
            return
        if self.pending is not None:
            engine, model, options = self.pending
            save_choice(self.prefs, engine, model, options, self.status)
            self.pending = None
        if self.welcome_shown:
            self.hide_welcome()
        self.switched.emit(ctl)

    def _on_load_failed(self, ctl: GenerationController, message: str) -> None:
        if ctl is not self.runner.controller:
            return
        self.runner.set_controller(None)
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


__all__ = ["ModelSwitcher", "model_label", "save_choice", "short_name"]
