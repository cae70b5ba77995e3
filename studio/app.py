"""The GUI application: register the artifact scheme, build the services, show the window.

Order matters: the ``artifact:`` URL scheme is registered before the QApplication exists, and
the window (with its web pages) is deleted before the web profile.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from studio import APP_NAME

if TYPE_CHECKING:  # Qt is imported inside main(), after the scheme is registered
    from PySide6.QtWebEngineCore import QWebEngineProfile
    from PySide6.QtWidgets import QApplication

    from studio.store.library import Library
    from studio.ui.generation import GenerationController
    from studio.ui.mainwindow import MainWindow

log = logging.getLogger(__name__)

# Prints "STUDIO_SHOWN <epoch seconds>" once the window is shown, then quits (bench/startup.py).
MEASURE_ENV = "STUDIO_MEASURE_STARTUP"


def flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as command-line flags (they win over the settings file)."""
    from studio.cli.common import is_default

    out: dict[str, Any] = {}
    for name in ("model", "max_tokens", "temperature"):
        if getattr(args, name, None) is not None:
            out[name] = getattr(args, name)
    engine = getattr(args, "engine", None)
    if engine is not None and not is_default(engine):
        out["engine"] = str(engine)
    for name in ("base_url", "device", "draft_model"):
        if getattr(args, name, None):
            out[name] = getattr(args, name)
    if getattr(args, "prompt_lookup", None) is not None:
        out["prompt_lookup"] = bool(args.prompt_lookup)
    return out


def open_library(data_dir: str | None) -> tuple[Library | None, list[tuple[str, str]]]:
    """Open the library (moving a corrupt one aside); returns it and the notices to show."""
    from studio.store.db import StoreError
    from studio.store.library import Library

    notices: list[tuple[str, str]] = []
    try:
        lib = Library.at(data_dir)
    except (StoreError, OSError) as e:
        log.error("the library cannot be opened: %s", e)
        return None, [(f"The library cannot be opened, so nothing will be kept this session: {e}", "error")]
    if lib.recovery is not None:
        notices.append((lib.recovery.message, "warning"))
    if lib.interrupted_on_open:
        n = lib.interrupted_on_open
        notices.append(
            (
                f"{n} answer{'s were' if n != 1 else ' was'} cut off when the app last stopped; "
                "kept and marked interrupted.",
                "warning",
            )
        )
    return lib, notices


def main(args: argparse.Namespace) -> int:
    """Run the studio window; a startup failure goes to the log file and a message, not a traceback.

    Args:
        args: the parsed ``gui`` options (:func:`studio.cli.build_parser`): ``.model``, ``.engine``,
            ``.base_url``, ``.device``, the sampling flags, ``.data_dir`` and ``.files``.

    Returns:
        The process exit status.
    """
    from studio.startuplog import run_guarded

    return run_guarded(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    """Run the studio window until it is closed; returns the exit status."""
    measure = bool(getattr(args, "measure_startup", False) or os.environ.get(MEASURE_ENV))

    preload_for_engine(getattr(args, "engine", None))
    from PySide6.QtCore import QCoreApplication

    owned = QCoreApplication.instance() is None  # deleted at the end only if this call makes it
    app = create_application()
    from studio.startuplog import maybe_fail

    maybe_fail("window")  # test hook: a failure once a message box can be shown
    from PySide6.QtCore import QTimer

    from studio.cli.common import params_from_args
    from studio.store.settings import load_settings, with_overrides

    stored_settings = load_settings()
    from studio.ui import theme

    theme.install(app, theme.mode_from(stored_settings.theme))
    overrides = flag_overrides(args)
    settings = with_overrides(stored_settings, **overrides)
    library, notices = open_library(getattr(args, "data_dir", None))
    controller = None
    engine_error = None
    model = settings.model
    if model:
        from studio.engine.base import EngineError
        from studio.models.registry import create_engine
        from studio.ui.generation import GenerationController

        try:
            engine = create_engine(
                settings.engine,
                settings.model,
                base_url=settings.base_url,
                device=settings.device,
                prompt_lookup=settings.prompt_lookup,
                draft_model=settings.draft_model,
            )
            controller = GenerationController(engine)
        except EngineError as e:
            engine_error = str(e)
    window, profile = build_window(
        controller,
        data_dir=getattr(args, "data_dir", None),
        params=params_from_args(args, settings),
        system_prompt=settings.system_prompt,
        library=library,
        app_settings=stored_settings,
        overridden=overrides,
    )
    profile.artifact_interceptor.network_default = settings.allow_network  # type: ignore[attr-defined]
    show_sandbox_notice(window)
    for text, level in notices:
        window.chat.show_notice(text, level)
    if engine_error:
        window.chat.show_notice(engine_error, "error")
        window.models.show_welcome(f"The model could not be loaded: {engine_error}")  # choose another
    # The model loads once the first frame is up: its imports (numpy, mlx...) never delay the window.
    first_frame: list[Callable[[bool], None]] = []
    if measure:
        first_frame.append(lambda exposed: _report_shown(window, controller if model else None, exposed))
    if controller is not None and model:
        first_frame.append(lambda _exposed: controller.load(model))
    from studio import fileopen

    fileopen.install(app, window, getattr(args, "files", None) or [])
    window.show()
    _after_first_frame(window, QTimer, first_frame)
    try:
        return int(app.exec())
    finally:
        dispose(window, profile)
        if library is not None:
            library.close()
        if owned:
            from studio.web.unload import shutdown_application

            shutdown_application(app)  # Chromium's last storage commits finish before the exit


def chromium_flags(flags: str, *, root: bool) -> str:
    """QtWebEngine's Chromium flags for this process: ``--no-sandbox`` added when running as root.

    Chromium refuses to start its sandboxed renderers as root (the whole app would die); the artifacts
    stay contained by their own profile, origin and request interceptor, without the OS sandbox.
    """
    if not root or "--no-sandbox" in flags.split():
        return flags
    return f"{flags} --no-sandbox".strip()


def show_sandbox_notice(window: MainWindow, flags: str | None = None) -> bool:
    """Say IN the window when Chromium runs without its OS sandbox (as root), not only in the log.

    Returns:
        True when the notice was shown.
    """
    from studio.web.flags import SANDBOX_OFF_NOTICE, sandbox_off

    if not sandbox_off(flags):
        return False
    window.chat.show_notice(SANDBOX_OFF_NOTICE, "warning")
    return True


def preload_for_engine(engine: str | None) -> None:
    """Load what the chosen engine needs before QtWebEngine starts (the CUDA engine's triton)."""
    import importlib.util

    if importlib.util.find_spec("triton") is None:
        return
    from studio.models.registry import resolve
    from studio.store.settings import load_settings

    settings = load_settings()
    if engine is None or engine == "auto":
        engine = resolve(settings.engine, settings.model)
    if engine == "cuda":
        from studio.engine.cuda_support import preload_triton

        preload_triton()


def _software_webgl_where_no_gpu() -> None:
    """With no GPU, WebGL artifacts render in software instead of failing (studio.web.webgl)."""
    from studio.web.webgl import with_software_webgl

    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    if (more := with_software_webgl(flags)) != flags:
        log.info("no GPU found: WebGL renders in software (%s)", more[len(flags) :].strip())
        os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = more


def create_application() -> QApplication:
    """Register the artifact scheme, then make (or return) the QApplication."""
    from studio.web import flags as web_flags
    from studio.web.scheme import register_scheme

    root = web_flags.is_root()
    flags = os.environ.get(web_flags.ENV, "")
    if chromium_flags(flags, root=root) != flags:
        log.warning("running as root: Chromium's OS sandbox is off (--no-sandbox)")
    # The OS sandbox (off only as root), WebRTC without UDP, every connection through the network gate.
    web_flags.apply()
    _software_webgl_where_no_gpu()

    register_scheme()  # before any QApplication / WebEngine object exists

    import PySide6.QtWebEngineWidgets  # noqa: F401  (must precede the QApplication)
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setOrganizationName(APP_NAME)
    from studio.fileopen import StudioApplication  # takes macOS FileOpen events

    app = StudioApplication([sys.argv[0] if sys.argv else "artifacts-studio"])
    app.setApplicationDisplayName(APP_NAME)
    app.setDesktopFileName("artifacts-studio")  # matches the .desktop entry (Wayland app id)
    from studio.about import app_icon

    app.setWindowIcon(app_icon())
    return app


def build_window(
    controller: GenerationController | None, *, data_dir: str | None = None, **window_kwargs: Any
) -> tuple[MainWindow, QWebEngineProfile]:
    """Build the server, the sandboxed profile and the main window around a controller.

    Args:
        controller: a GenerationController, or None (no model).
        data_dir: ``--data-dir``: the artifacts' saved state lives there too.
        **window_kwargs: passed to MainWindow (params, settings, native_dialogs, ...).

    Returns:
        (window, profile); pass both to :func:`dispose` when done.
    """
    from studio.core.serving import ArtifactServer
    from studio.store.paths import artifact_state_dir
    from studio.ui.mainwindow import MainWindow
    from studio.web.profile import build_artifact_profile

    server = ArtifactServer()
    profile = build_artifact_profile(server, storage_path=artifact_state_dir(data_dir))
    window = MainWindow(server, profile, controller, **window_kwargs)
    return window, profile


def dispose(window: MainWindow, profile: QWebEngineProfile) -> None:
    """Stop the engine thread, let the pages unload, then delete the window before the profile.

    Unloading (about:blank, bounded ~1.5 s) gives Chromium the artifacts' last localStorage writes.
    """
    import shiboken6

    from studio.ui.artifactpane import ArtifactPane
    from studio.web.unload import dispose_web

    if shiboken6.isValid(window):
        window.shutdown()
        for pane in window.findChildren(ArtifactPane):
            pane.stop()
    dispose_web(profile, [window])


def _after_first_frame(window: MainWindow, qtimer: Any, callbacks: list[Callable[[bool], None]]) -> None:
    """Run ``callbacks(exposed)`` in order once the window is exposed and its first frame painted."""
    started = time.monotonic()

    def check() -> None:
        handle = window.windowHandle()
        exposed = handle is not None and handle.isExposed()
        if not exposed and time.monotonic() - started < 10:
            qtimer.singleShot(1, check)
            return
        window.repaint()  # the first frame, synchronously
        for callback in callbacks:
            callback(exposed)

    qtimer.singleShot(0, check)


def _report_shown(window: MainWindow, controller: GenerationController | None, exposed: bool) -> None:
    """Print the first frame's time (bench/startup.py), then close the window.

    With ``STUDIO_MEASURE_STARTUP=modules`` also print the top-level modules imported by then, and
    (when a model is loading) once more after it has loaded, before closing.
    """
    cpu = time.process_time()  # CPU seconds of this process so far (threads included)
    listed = len(window.sidebar.ids()) if window.sidebar is not None else -1
    print(f"STUDIO_SHOWN {time.time():.6f} exposed={exposed} cpu={cpu:.3f} sidebar={listed}", flush=True)
    if os.environ.get(MEASURE_ENV) != "modules":
        window.close()
        return
    print(f"STUDIO_MODULES {_top_modules()}", flush=True)
    if controller is None:
        window.close()
        return

    def after_load(*_: object) -> None:
        print(f"STUDIO_MODULES_LOADED {_top_modules()}", flush=True)
        window.close()

    controller.loaded.connect(after_load)
    controller.loadFailed.connect(after_load)


def _top_modules() -> str:
    return ",".join(sorted({name.split(".", 1)[0] for name in list(sys.modules)}))
