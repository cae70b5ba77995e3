"""The headless checker: load an .html file in the sandbox offscreen and report what happened.

``artifacts-studio check FILE.html`` (:mod:`studio.cli.check`) calls :func:`check_file`;
:func:`exit_code` gives 0 (loaded with no error) or 1 (JS errors, hung, blank or not loaded).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ARTIFACT_ID = "check"
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".svg"})
MAX_BYTES = 50 * 1024 * 1024
MAX_BLOCKED = 200  # blocked attempts listed in a report (the rest are counted)
MAX_URL_CHARS = 2048
VIEW_SIZE = (1024, 768)


class BadInput(Exception):
    """The file cannot be checked (missing, unreadable, not HTML); str() is one line."""


def read_html(path: Path) -> str:
    """Read a page to check.

    Raises:
        BadInput: missing, not a file, too large, binary or not HTML.
    """
    if not path.exists():
        raise BadInput(f"no such file: {path}")
    if not path.is_file():
        raise BadInput(f"not a file: {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise BadInput(f"too large to check ({len(data)} bytes): {path}")
    if b"\x00" in data[:8192]:
        raise BadInput(f"not HTML (binary data): {path}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"not HTML (not UTF-8 text): {path}") from None
    head = text[:4096].lstrip().lower()
    if path.suffix.lower() not in HTML_SUFFIXES and not head.startswith("<"):
        raise BadInput(f"not HTML: {path}")
    if "<" not in text:
        raise BadInput(f"not HTML (no markup): {path}")
    return text


def _ensure_app() -> Any:
    """The running QApplication, or a new offscreen one with the scheme registered first."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtWebEngineWidgets  # noqa: F401  (before the QApplication)
    from PySide6.QtWidgets import QApplication

    from studio.web import flags
    from studio.web.scheme import register_scheme

    app = QApplication.instance()
    if app is None:
        # Software WebGL without the "unsafe" flag, the OS sandbox unless root, the network gate.
        flags.apply(software_gl=True)
        register_scheme()
        app = QApplication([sys.argv[0] if sys.argv else "artifacts-studio"])
    return app


def is_blank(image: Any) -> bool:
    """Whether a grabbed frame (QImage) is a single colour."""
    from PySide6.QtGui import QImage

    img = image.convertToFormat(QImage.Format.Format_RGB32)
    if img.isNull() or img.width() == 0:
        return True
    raw = bytes(img.constBits())
    stride, width = img.bytesPerLine(), img.width() * 4
    first = raw[:4]
    row = first * img.width()
    return all(raw[y * stride : y * stride + width] == row for y in range(img.height()))


def check_file(
    path: Path, wait_ms: int = 1500, screenshot: Path | None = None, *, probe: bool = True
) -> dict:
    """Load a page in the sandboxed profile offscreen and report on it.

    Args:
        path: the .html file.
        wait_ms: how long to let the page run after it loaded.
        screenshot: where to save a PNG of the rendered frame.
        probe: measure liveness too (studio.web.liveness: alive, responds, overflow, fps, long_tasks).

    Returns:
        {loaded, console: [{level, message, line, source}], errors, blocked_requests: [url],
        blocked_more, console_dropped, blank, hung, model_calls (window.studio calls: all denied), alive,
        responds, overflow, fps, long_tasks, tried,
        webgl, environment}; the liveness fields are None when not measured. Bounded: at most
        MAX_ENTRIES console entries of MAX_MESSAGE_CHARS each (page.py) and MAX_BLOCKED blocked
        attempts; the rest are counted.
        A blocked attempt is a request URL, or ``tcp://host:port`` for a bare connection.

    Raises:
        BadInput: the file cannot be checked.
    """
    import shiboken6
    from PySide6.QtCore import QEventLoop, QTimer, QUrl

    from studio.core.serving import ArtifactServer
    from studio.web.bridge import DenyingHost, attach_bridge
    from studio.web.page import update_summary
    from studio.web.preview import HangWatchdog, SandboxView, kill_renderer
    from studio.web.profile import artifact_interceptor, build_artifact_profile

    text = read_html(Path(path))
    app = _ensure_app()
    server = ArtifactServer()
    profile = build_artifact_profile(server)
    denier = DenyingHost("the check does not run the model")  # no prompt: each call is rejected, reported
    attach_bridge(profile, denier)
    view = SandboxView(profile, confirm_link=lambda url, parent: False)
    page = view.artifact_page
    console: list[dict] = []
    blocked: list[str] = []
    more = {"blocked": 0}
    state = {"loaded": None, "hung": False}
    page.consoleMessage.connect(console.append)
    interceptor = artifact_interceptor(profile)
    assert interceptor is not None

    def on_blocked(url: str) -> None:
        if len(blocked) < MAX_BLOCKED:
            blocked.append(url if len(url) <= MAX_URL_CHARS else url[:MAX_URL_CHARS] + "…")
        else:
            more["blocked"] += 1

    interceptor.blocked.connect(lambda url, host: on_blocked(url))
    interceptor.connectionBlocked.connect(on_blocked)
    watchdog = HangWatchdog(page, interval_ms=250, timeout_ms=2000)
    loop = QEventLoop()

    def finished(ok: bool) -> None:
        if state["loaded"] is None:
            state["loaded"] = bool(ok)
            loop.quit()

    def hung() -> None:
        state["hung"] = True
        loop.quit()

    page.loadFinished.connect(finished)
    watchdog.hung.connect(hung)
    view.resize(*VIEW_SIZE)
    view.show()
    if probe:
        from studio.web.liveness import install_probe

        install_probe(page)
    live: dict = {}
    try:
        page.load(QUrl(server.put_page(ARTIFACT_ID, text)))
        watchdog.start()
        _run(loop, QTimer, 5000)  # the load itself
        if state["loaded"] is not None and not state["hung"]:
            _run(loop, QTimer, max(wait_ms, 0))  # let it run; a hang ends the wait early
        watchdog.stop()
        if not state["hung"] and state["loaded"] is not None:
            state["hung"] = not _answers(page, loop, QTimer, 2000)
            if state["hung"]:
                kill_renderer(page)
        watchdog.stop()
        image = view.grab().toImage()
        if screenshot is not None:
            image.save(str(screenshot), "PNG")  # type: ignore[call-overload]  # stub says bytes; PySide takes str
        blank = is_blank(image)
        if probe and state["loaded"] and not state["hung"]:
            live = _probe(view, loop)
        app.processEvents()
        dropped = page.console_budget.dropped
        update_summary(console, dropped)
    finally:
        shiboken6.delete(view)
        shiboken6.delete(profile)
    return {
        "loaded": bool(state["loaded"]),
        "console": [{k: e[k] for k in ("level", "message", "line", "source")} for e in console],
        "errors": sum(e["level"] == "error" for e in console),
        "blocked_requests": blocked,
        "blocked_more": more["blocked"],
        "console_dropped": dropped,
        "blank": blank,
        "hung": state["hung"],
        "model_calls": denier.calls,
        **_live_fields(live, console, text),
    }


def _probe(view: Any, loop: Any) -> dict:
    """Run the liveness probe on the loaded view (the event loop runs until it reports)."""
    from studio.web.liveness import LivenessProbe

    out: dict = {}
    probe = LivenessProbe(view)

    def done(report: dict) -> None:
        out.update(report)
        loop.quit()

    probe.finished.connect(done)
    probe.start()
    if not out:
        loop.exec()
    probe.deleteLater()
    return out


def _live_fields(live: dict, console: list[dict], source: str) -> dict:
    """The liveness fields of a report, and the environment issues its console shows."""
    from studio.core.checks import Liveness, live_problems

    measured = Liveness.from_report(live) if live else None
    problems = live_problems(measured, console, source=source)
    fields = (measured or Liveness()).fields()
    fields["environment"] = list(problems.environment)
    return fields


def _run(loop: Any, qtimer: Any, ms: int) -> None:
    """Run the event loop for at most ``ms`` (or until it is quit)."""
    timer = qtimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(ms)
    loop.exec()
    timer.stop()


def _answers(page: Any, loop: Any, qtimer: Any, ms: int) -> bool:
    """One last heartbeat: does the page's renderer answer a tiny script within ``ms``?"""
    from PySide6.QtWebEngineCore import QWebEngineScript

    answered: list[bool] = []

    def answer(_result: object) -> None:
        answered.append(True)
        loop.quit()

    page.runJavaScript("1", QWebEngineScript.ScriptWorldId.ApplicationWorld, answer)
    if not answered:
        _run(loop, qtimer, ms)
    return bool(answered)


def exit_code(report: dict) -> int:
    """0 when loaded with no error, else 1."""
    bad = not report["loaded"] or report["errors"] or report["hung"] or report["blank"]
    return 1 if bad else 0


def summary(path: Path, report: dict) -> str:
    """A short human-readable summary."""
    verdict = "OK" if exit_code(report) == 0 else "PROBLEMS"
    lines = [
        f"{path}: {verdict}",
        f"  loaded: {'yes' if report['loaded'] else 'no'}   errors: {report['errors']}   "
        f"blank: {'yes' if report['blank'] else 'no'}   hung: {'yes' if report['hung'] else 'no'}",
    ]
    for item in report["console"]:
        where = f" (line {item['line']})" if item["line"] else ""
        lines.append(f"  [{item['level']}]{where} {item['message']}")
    lines += [f"  blocked: {url}" for url in report["blocked_requests"]]
    if report.get("model_calls"):
        lines.append(f"  model calls: {report['model_calls']} (denied: the check does not run the model)")
    if report.get("blocked_more"):
        lines.append(f"  ... and {report['blocked_more']} more blocked attempts")
    if report.get("alive") is not None:
        lines.append(
            f"  alive: {_yn(report['alive'])}   responds: {_yn(report['responds'])}   "
            f"overflow: {_yn(report['overflow'])}   fps: {report['fps']}   long tasks: {report['long_tasks']}"
        )
        lines += [f"  tried: {item}" for item in report.get("tried") or ()]
    lines += [f"  environment: {kind}" for kind in report.get("environment") or ()]
    return "\n".join(lines)


def _yn(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "no")
