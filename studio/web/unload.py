"""Let artifact pages unload before their profile goes (the app's way out of the web stack).

Chromium keeps an origin's localStorage in the browser process and commits it to disk later (on a
timer, when the origin's last page is gone, or when the profile shuts down); IndexedDB commits with
each transaction. A process that deletes its profile right after a page wrote can lose that write
(measured under load). Navigating the pages to about:blank first ends their documents cleanly before
the profile is deleted; it makes the loss rarer but, measured, not impossible: the last commit is a
task on Chromium's thread pool, and that pool only finishes its blocking-shutdown tasks when QtWebEngine
shuts Chromium down, which happens when the QApplication is deleted. Left to Python's exit, that
deletion may not happen in time: 2 of 55 restarts lost the write under load (tests/gui/state_probe.py
in a loop); deleting the application explicitly (:func:`shutdown_application`): 0 of 100.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence

import shiboken6
from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QTimer, QUrl
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile

log = logging.getLogger(__name__)

BLANK = QUrl("about:blank")
UNLOAD_MS = 1500  # at most this long for every page to unload (app exit)


def unload_pages(pages: Iterable[QWebEnginePage], timeout_ms: int = UNLOAD_MS) -> bool:
    """Navigate pages to about:blank and process events until all have loaded it (bounded).

    Call this before deleting the pages' profile, with the event loop not running (at exit).

    Args:
        pages: the pages to unload (deleted ones are skipped).
        timeout_ms: the most to wait for all of them together.

    Returns:
        True when every page finished loading about:blank in time.
    """
    waiting: set[int] = set()
    done = QEventLoop()
    hooks: list[tuple[QWebEnginePage, object]] = []
    for page in pages:
        if not shiboken6.isValid(page):
            continue
        key = id(page)

        def finished(_ok: bool, key: int = key) -> None:
            waiting.discard(key)
            if not waiting:
                done.quit()

        waiting.add(key)
        page.loadFinished.connect(finished)
        hooks.append((page, finished))
        page.load(BLANK)
    started = time.monotonic()
    if waiting:
        QTimer.singleShot(timeout_ms, done, done.quit)
        done.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    for page, hook in hooks:
        if shiboken6.isValid(page):
            try:
                page.loadFinished.disconnect(hook)
            except (RuntimeError, TypeError):
                pass
    QCoreApplication.processEvents()
    if waiting:
        log.warning("%d page(s) did not unload within %d ms", len(waiting), timeout_ms)
    else:
        log.debug("pages unloaded in %.0f ms", (time.monotonic() - started) * 1000)
    return not waiting


def dispose_web(profile: QWebEngineProfile, owners: Sequence[QObject], timeout_ms: int = UNLOAD_MS) -> bool:
    """The app's way out of the web stack: unload the pages, delete them, then the profile.

    Args:
        profile: the profile the pages render in; deleted last.
        owners: pages, or objects (windows) whose child pages are unloaded; deleted in this order.
        timeout_ms: the most to wait for the pages to unload.

    Returns:
        True when every page unloaded in time.
    """
    pages: list[QWebEnginePage] = []
    for owner in owners:
        if not shiboken6.isValid(owner):
            continue
        if isinstance(owner, QWebEnginePage):
            pages.append(owner)
        pages.extend(owner.findChildren(QWebEnginePage))
    unloaded = unload_pages(pages, timeout_ms)
    for owner in owners:
        if shiboken6.isValid(owner):
            shiboken6.delete(owner)
    QCoreApplication.processEvents()
    if shiboken6.isValid(profile):
        shiboken6.delete(profile)
    return unloaded


def shutdown_application(app: QCoreApplication) -> None:
    """Delete the application now, so QtWebEngine shuts Chromium down while Python is whole.

    Chromium's thread pool then runs its blocking-shutdown tasks (the last localStorage commit) before
    the process exits. Call it last, after :func:`dispose_web`, on the application this process made;
    no Qt object may be used afterwards.
    """
    if shiboken6.isValid(app):
        QCoreApplication.processEvents()
        shiboken6.delete(app)
