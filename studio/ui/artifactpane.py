"""The artifact pane: a stream-safe live preview, the source, a console strip.

Streaming renders go into a hidden page stacked under the shown one; it is swapped in only after
a clean load (loadFinished ok and no error in the first moment), so the last good frame stays
until a better one exists. Only the newest pending page is rendered next (coalescing).

A reload (also the one after "Reset state") loads into the shown page itself, not the hidden one:
a page of the same origin in another renderer may read localStorage without the shown page's last
writes (measured: it can even read it empty), while the same page's next document does not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QImage, QResizeEvent
from PySide6.QtWebEngineCore import QWebEngineLoadingInfo, QWebEnginePage, QWebEngineProfile
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.serving import RESET_DONE_TITLE, RESET_PATH, SCHEME, ArtifactServer, host_for
from studio.ui.console import ConsoleStrip
from studio.ui.diffview import DiffView
from studio.ui.sourceeditor import SourcePanel
from studio.ui.theme import icon
from studio.ui.versionbar import VersionBar
from studio.web.liveness import ShadowProbe
from studio.web.page import LinkConfirm, LinkOpener, entry, update_summary
from studio.web.preview import HangWatchdog, SandboxView, kill_renderer
from studio.web.profile import artifact_interceptor, build_artifact_profile
from studio.web.unload import BLANK

log = logging.getLogger(__name__)

SETTLE_MS = 120  # "the first moment" after loadFinished in which an error rejects a streaming render
REVIVE_MS = 2000  # at most this long to wait for a killed renderer to be noticed dead
LOAD_GUARD_MS = 1000  # a render whose load has not started by then is loaded again
SUSPECT_S = 0.3  # a renderer this late with a heartbeat is killed rather than reused


@dataclass
class _Render:
    artifact_id: str
    html: str
    title: str
    kind: str
    final: bool
    source: str | None = None  # the artifact's own source (the editor shows it), default the html


@dataclass
class _Slot:
    view: SandboxView
    watchdog: HangWatchdog
    render: _Render | None = None
    entries: list[dict] = field(default_factory=list)
    seq: int = 0
    url: str = ""  # the URL of its current render (unique: it carries the revision)
    killed: bool = False  # its renderer was killed; reuse it only once Chromium saw it die
    started: bool = False  # Chromium reported the load of ``url`` (a load can be dropped)


EMPTY_PANE = (
    "No artifact yet.\n\nAsk in the chat for something visual: it renders here, live, while the model "
    "writes, in a sandbox with no network."
)


class _Stack(QWidget):
    """Two views on top of each other; both 'visible' so the back one renders while it loads."""

    def resizeEvent(self, event: QResizeEvent) -> None:
        for child in self.findChildren(SandboxView):
            child.setGeometry(self.rect())
        for label in self.findChildren(QLabel, "emptyHint", Qt.FindChildOption.FindDirectChildrenOnly):
            label.setGeometry(self.rect())
        super().resizeEvent(event)


class ArtifactPane(QWidget):
    """Preview / Source (editor) / Diff tabs, a version strip, a console strip, copy and reload.

    The pane knows nothing of the library: the window gives it the versions (:meth:`set_versions`)
    and answers its requests.

    Signals:
        versionRequested(int): previous / next asked for version N.
        restoreRequested(int): "Restore this version" on version N.
        runRequested(str): the edited source should be rendered and saved as a new version.
        consoleMessage(dict): an entry {level, message, line, source} of the shown version.
        requestBlocked(str): an artifact's network request was denied (its URL).
        rendered(str, bool): artifact id and final flag of a version now on screen.
        hung(): the shown (or final) artifact stopped responding and was stopped.
        livenessChecked(str, dict): html probed by :meth:`probe_liveness` and its report.
    """

    consoleMessage = Signal(dict)
    requestBlocked = Signal(str)
    rendered = Signal(str, bool)
    hung = Signal()
    versionRequested = Signal(int)
    restoreRequested = Signal(int)
    runRequested = Signal(str)
    stateReset = Signal(str)
    livenessChecked = Signal(str, dict)
    compareRequested = Signal()

    def __init__(
        self,
        profile: QWebEngineProfile,
        server: ArtifactServer,
        parent: QWidget | None = None,
        *,
        confirm_link: LinkConfirm | None = None,
        open_link: LinkOpener | None = None,
    ) -> None:
        super().__init__(parent)
        self._server = server
        self._seq = 0
        self._pending: _Render | None = None
        self._loading = False
        self._stopped = False
        self._shadow: ShadowProbe | None = None

        self._stack = _Stack()
        slots = []
        for _ in range(2):
            view = SandboxView(profile, self._stack, confirm_link=confirm_link, open_link=open_link)
            slot = _Slot(view, HangWatchdog(view.artifact_page))
            self._wire(slot)
            slots.append(slot)
        self._front, self._back = slots
        self._back.view.hide()
        self._settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle.timeout.connect(self._settled)
        self._revive = QTimer(self, singleShot=True, interval=REVIVE_MS)
        self._revive.timeout.connect(lambda: self._terminated(self._back))
        interceptor = artifact_interceptor(profile)
        self._interceptor = interceptor
        if interceptor is not None:
            interceptor.blocked.connect(self._blocked)
            interceptor.allowedNetwork.connect(self._allowed_network)
        self._build_ui()

    # -- UI --------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self._title = QLabel()
        self._title.setObjectName("artifactTitle")
        self._kind = QLabel()
        self._badge = QToolButton()
        self._badge.setCheckable(True)
        self._badge.setObjectName("errorBadge")
        self._badge.setVisible(False)
        self._copy = QPushButton(icon("copy"), "Copy source")
        self._copy.clicked.connect(self.copy_source)
        self._reload = QPushButton(icon("reload"), "Reload")
        self._reload.clicked.connect(self.reload)
        self.network_toggle = QToolButton()
        self.network_toggle.setText("Network")
        self.network_toggle.setIcon(icon("network"))
        self.network_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.network_toggle.setCheckable(True)
        self.network_toggle.setEnabled(False)
        self.network_toggle.setToolTip(
            "Let this artifact reach the network (off: only the offline libraries and its own files)"
        )
        self.network_toggle.toggled.connect(self._network_toggled)
        self._reset_state = QPushButton(icon("reset"), "Reset state")
        self._reset_state.setToolTip("Forget what this artifact stored and run it again")
        self._reset_state.clicked.connect(self.reset_state)
        for button in (self._badge, self._copy, self._reload, self.network_toggle, self._reset_state):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for button in (self._copy, self._reload, self._reset_state):  # icons only: a narrow header
            button.setToolTip(f"{button.text()}: {button.toolTip()}" if button.toolTip() else button.text())
            button.setAccessibleName(button.text())
            button.setText("")
        self.version_bar = VersionBar()
        self.version_bar.versionRequested.connect(self.versionRequested.emit)
        self.version_bar.restoreRequested.connect(self.restoreRequested.emit)
        self.version_bar.compareRequested.connect(self.compareRequested.emit)
        header = QHBoxLayout()
        header.setContentsMargins(4, 4, 6, 2)
        header.setSpacing(6)
        header.addWidget(self._title, 1)
        header.addWidget(self.version_bar)
        header.addWidget(self._kind)
        header.addWidget(self._badge)
        header.addWidget(self._copy)
        header.addWidget(self._reload)
        header.addWidget(self.network_toggle)
        header.addWidget(self._reset_state)

        self._hung_bar = QWidget()
        self._hung_bar.setObjectName("hungBar")
        bar = QHBoxLayout(self._hung_bar)
        bar.setContentsMargins(6, 2, 6, 2)
        bar.addWidget(QLabel("The artifact stopped responding and was stopped."), 1)
        self._hung_reload = QPushButton("Reload")
        self._hung_reload.clicked.connect(self.reload)
        bar.addWidget(self._hung_reload)
        self._hung_bar.hide()
        self.check_line = QLabel()
        self.check_line.setObjectName("selfCheck")
        self.check_line.setContentsMargins(6, 0, 6, 0)
        self.check_line.hide()

        self.source_panel = SourcePanel()
        self.source_panel.runRequested.connect(self.runRequested.emit)
        self._source = self.source_panel.editor
        self.diff_view = DiffView()
        self.tabs = QTabWidget()
        self.tabs.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.empty_hint = QLabel(EMPTY_PANE, self._stack)
        self.empty_hint.setObjectName("emptyHint")
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tabs.addTab(self._stack, "Preview")
        self.tabs.addTab(self.source_panel, "Source")
        self.tabs.addTab(self.diff_view, "Diff")
        self.tabs.currentChanged.connect(lambda _i: self._refresh_source())

        self.console = ConsoleStrip()
        self.console.setMaximumHeight(120)
        self.console.setVisible(False)
        self._badge.toggled.connect(self.console.setVisible)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.check_line)
        layout.addWidget(self._hung_bar)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.console)

    def _wire(self, slot: _Slot) -> None:
        page = slot.view.artifact_page
        page.loadingChanged.connect(lambda info, s=slot: self._loading_changed(s, info))
        page.consoleMessage.connect(lambda e, s=slot: self._console(s, e))
        page.consoleDropped.connect(lambda n, s=slot: self._dropped(s, n))
        slot.watchdog.hung.connect(lambda s=slot: self._hung(s))
        page.renderProcessTerminated.connect(lambda *_a, s=slot: self._terminated(s))

    def _renew(self, slot: _Slot) -> None:
        """Give a slot a fresh page: its page would not start a load (pinned or stuck)."""
        slot.watchdog.stop()
        slot.watchdog.deleteLater()
        slot.view.renew_page()
        slot.watchdog = HangWatchdog(slot.view.artifact_page)
        slot.killed = False
        self._wire(slot)

    # -- public API ------------------------------------------------------------------------
    def show_artifact(
        self, artifact_id: str, html: str, *, title: str, kind: str, final: bool, source: str | None = None
    ) -> None:
        """Render a version of an artifact (stream-safe; cheap to call often).

        Args:
            artifact_id: the artifact (its own origin).
            html: the complete page to render.
            title: shown in the header.
            kind: "html", "svg" or "react".
            final: the answer has ended; render even if the page has errors.
            source: the artifact's own source for the editor (default: ``html``).
        """
        render = _Render(artifact_id, html, title, kind, final, source)
        shown = self._front.render
        if shown and shown.artifact_id == artifact_id and shown.html == html and not self._loading:
            if source is not None and source != shown.source:
                shown.source = source
                self._refresh_source()
            if final and not shown.final:  # the last streamed frame already is the final one
                shown.final = True
                self._set_header(render)
                self.rendered.emit(artifact_id, True)
            return
        if self._loading and not final:
            self._pending = render  # coalesce: only the newest waits
            return
        self._pending = None
        self._start(render)

    def clear(self) -> None:
        """Show nothing."""
        self._seq += 1
        self._pending = None
        self._loading = False
        self._settle.stop()
        for slot in (self._front, self._back):
            slot.watchdog.stop()
            slot.render = None
            slot.entries = []
            slot.view.artifact_page.load(BLANK)
        self._back.view.hide()
        self._hung_bar.hide()
        self.set_check_line("", True)
        self._title.clear()
        self._kind.clear()
        self.source_panel.set_source("")
        self.set_versions([], None)
        self.empty_hint.show()
        self.empty_hint.raise_()
        self._show_console()

    def set_check_line(self, text: str, ok: bool) -> None:
        """Show the self-check line ("renders · moves · responds"); '' hides it."""
        self.check_line.setText(("✓ " if ok else "✗ ") + text if text else "")
        self.check_line.setProperty("ok", ok)
        self.check_line.setVisible(bool(text))

    def probe_liveness(self, artifact_id: str, html: str) -> None:
        """Probe a copy of ``html`` off screen (motion, input, overflow); ``livenessChecked`` follows."""
        if self._stopped:
            return
        if self._shadow is None:
            self._shadow = ShadowProbe(self._server, self._stack, build_artifact_profile)
            self._shadow.finished.connect(self.livenessChecked.emit)
        self._shadow.run(artifact_id, html)

    def current_html(self) -> str | None:
        """The html of the version on screen, or None."""
        return self._front.render.html if self._front.render else None

    def frame(self) -> QImage:
        """A grab of the version on screen (for the blank-frame check)."""
        return self._front.view.grab().toImage()

    def console_entries(self) -> list[dict]:
        """Console entries of the version on screen."""
        return list(self._front.entries)

    def is_rendering(self) -> bool:
        """Whether a render is in flight or waiting."""
        return self._loading or self._pending is not None

    def copy_source(self) -> None:
        """Copy the shown artifact's source to the clipboard, as Edit > Copy Source does (the page
        itself when no source was given, e.g. an opened .html file)."""
        render = self._front.render
        if render is not None:
            QGuiApplication.clipboard().setText(render.source if render.source is not None else render.html)

    def reset_state(self) -> bool:
        """Clear the shown artifact's stored state (its origin's storage), then run it again.

        The artifact's page is replaced by a blank page on the same origin first, so no open
        IndexedDB connection of the artifact holds the deletion up. ``stateReset`` follows.

        Returns:
            False when no artifact is shown or a render is in flight (nothing done).
        """
        render = self._front.render
        if render is None or self.is_rendering():
            return False
        page = self._front.view.artifact_page
        self._front.watchdog.stop()
        done = [False]

        def cleared(title: str) -> None:
            if title != RESET_DONE_TITLE or done[0]:
                return
            done[0] = True
            try:
                page.titleChanged.disconnect(cleared)
            except (RuntimeError, TypeError):  # already gone
                pass
            log.info("state of artifact %s cleared", render.artifact_id)
            self.reload()
            self.stateReset.emit(render.artifact_id)

        page.titleChanged.connect(cleared)
        page.load(QUrl(f"{SCHEME}://{host_for(render.artifact_id)}{RESET_PATH}"))
        return True

    def reload(self) -> None:
        """Render the shown version again (also the way back from a stopped page).

        The version loads into the shown page itself (the preview is blank a moment), so it sees
        everything the page stored; see the module docstring.
        """
        if self._front.render and not self._stopped:
            self._hung_bar.hide()
            again = self._front.render
            self._front.render = None  # force a real load
            if not self._loading:  # the shown page becomes the one that loads
                self._front, self._back = self._back, self._front
            self._start(_Render(again.artifact_id, again.html, again.title, again.kind, True, again.source))

    def pages(self) -> list[QWebEnginePage]:
        """The pane's two web pages (shown and back)."""
        return [self._front.view.artifact_page, self._back.view.artifact_page]

    def stop(self) -> None:
        """Stop rendering for good (app exit): nothing pending, no timers, no watchdogs.

        The pages stay; unload them (:func:`studio.web.unload.unload_pages`) before the profile goes.
        """
        self._stopped = True
        self._seq += 1
        self._pending = None
        self._loading = False
        self._settle.stop()
        self._revive.stop()
        for slot in (self._front, self._back):
            slot.watchdog.stop()
        if self._shadow is not None:
            self._shadow.close()

    # -- rendering -------------------------------------------------------------------------
    def _start(self, render: _Render) -> None:
        if self._stopped:
            return
        back = self._back
        late = back.watchdog.waiting_s() if self._loading else 0.0
        if 0 < late <= SUSPECT_S:  # the page being replaced is slow to answer: look again shortly
            self._pending = render
            QTimer.singleShot(int((SUSPECT_S - late) * 1000) + 20, self._retry)
            return
        if late > SUSPECT_S and kill_renderer(back.view.artifact_page):
            back.killed = True  # a newer version must not queue behind a stuck one
            back.watchdog.stop()
        if back.killed:  # a load now could land in the dying process and fail
            self._pending = render
            self._loading = False
            if not self._revive.isActive():
                self._revive.start()
            return
        self._seq += 1
        self._loading = True
        self.empty_hint.hide()
        self._settle.stop()
        back.watchdog.stop()
        back.render, back.entries, back.seq = render, [], self._seq
        url = self._server.put_page(render.artifact_id, render.html)
        back.url = url
        back.view.show()
        self._front.view.raise_()
        back.started = False
        back.view.artifact_page.load(QUrl(url))
        back.watchdog.start()  # an infinite loop in the page never reaches loadFinished
        QTimer.singleShot(LOAD_GUARD_MS, self, lambda s=back, q=self._seq: self._load_guard(s, q))

    def _load_guard(self, slot: _Slot, seq: int, tries: int = 0) -> None:
        """Issue a load again that Chromium dropped (issued while about:blank was still loading).

        A second miss gets a fresh page: the old one may be pinned (e.g. by its unload handler).
        """
        if self._loading and slot is self._back and slot.seq == seq and not slot.started:
            slot.entries = []  # a late first load's console must not count twice (seen under load)
            if tries >= 1:
                log.warning("the load of %s never started; loading it in a fresh page", slot.url)
                self._renew(slot)
                slot.watchdog.start()
            else:
                log.info("the load of %s never started; loading it again", slot.url)
            if tries < 2:
                QTimer.singleShot(LOAD_GUARD_MS, self, lambda: self._load_guard(slot, seq, tries + 1))
            slot.view.artifact_page.load(QUrl(slot.url))

    def _loading_changed(self, slot: _Slot, info: QWebEngineLoadingInfo) -> None:
        status = info.status()
        if info.url().toString() == slot.url:
            slot.started = True
        if status == QWebEngineLoadingInfo.LoadStatus.LoadStartedStatus or info.url().toString() != slot.url:
            return  # a stale load (e.g. the end of one whose renderer was killed)
        self._load_finished(slot, status == QWebEngineLoadingInfo.LoadStatus.LoadSucceededStatus)

    def _load_finished(self, slot: _Slot, ok: bool) -> None:
        if slot is not self._back or slot.seq != self._seq or not self._loading or slot.render is None:
            return
        if slot.render.final:
            self._swap()
        elif not ok:
            self._discard("load failed")
        else:
            self._settle.start()

    def _settled(self) -> None:
        back = self._back
        if not self._loading or back.seq != self._seq:
            return
        if any(e["level"] == "error" for e in back.entries):
            self._discard("errors in the first moment")
        else:
            self._swap()

    def _discard(self, why: str) -> None:
        log.debug("streaming render discarded: %s", why)
        self._back.watchdog.stop()
        self._next()

    def _swap(self) -> None:
        old, new = self._front, self._back
        self._front, self._back = new, old
        new.view.raise_()
        old.watchdog.stop()
        old.render, old.entries = None, []
        old.view.hide()
        old.view.artifact_page.load(QUrl("about:blank"))  # stop its scripts, timers, sound
        self._hung_bar.hide()
        self.set_check_line("", True)  # a new render: its own check comes later
        assert new.render is not None
        self._set_header(new.render)
        self._show_console()
        for item in new.entries:
            self.consoleMessage.emit(item)
        self._refresh_source()
        self.rendered.emit(new.render.artifact_id, new.render.final)
        self._next()

    def _next(self) -> None:
        self._loading = False
        if self._back.killed and self._pending is not None:
            return  # _terminated() starts it
        pending, self._pending = self._pending, None
        if pending is not None:
            self._start(pending)

    def _retry(self) -> None:
        if self._loading and self._pending is not None:
            pending, self._pending = self._pending, None
            self._start(pending)

    def _terminated(self, slot: _Slot) -> None:
        if not slot.killed:
            return
        slot.killed = False
        if slot is self._back and not self._loading and self._pending is not None:
            QTimer.singleShot(0, self._next)  # after Qt has finished with the dead process

    def _hung(self, slot: _Slot) -> None:
        slot.killed = True
        if slot is self._back and self._loading and slot.seq == self._seq:
            slot.entries.append(entry("error", "the page stopped responding and was stopped"))
            if slot.render is not None and slot.render.final:
                self._swap()
                self._hung_bar.show()
                self.hung.emit()
            else:
                self._discard("hung")
        elif slot is self._front and slot.render is not None:
            self._console(slot, entry("error", "the page stopped responding and was stopped"))
            self._hung_bar.show()
            self.hung.emit()

    # -- console ---------------------------------------------------------------------------
    def _console(self, slot: _Slot, item: dict) -> None:
        if slot.render is None or (slot is self._back and not self._loading):
            return
        slot.entries.append(item)
        if slot is self._front:
            self.console.add_entry(item)
            self._update_badge()
            self.consoleMessage.emit(item)

    def _dropped(self, slot: _Slot, n: int) -> None:
        """A flood: the render's one "N more messages dropped" entry says the new N."""
        if slot.render is not None and update_summary(slot.entries, n) and slot is self._front:
            self._show_console()

    def _blocked(self, url: str, host: str) -> None:
        for slot in (self._back, self._front):
            if slot.render is not None and host_for(slot.render.artifact_id) == host:
                slot.view.artifact_page.note("blocked", f"blocked request to {url}", url)  # bounded
                self.requestBlocked.emit(url)
                return

    def _show_console(self) -> None:
        self.console.set_entries(self._front.entries)
        self._update_badge()

    def _update_badge(self) -> None:
        errors = self.console.error_count()
        self._badge.setText(f"{errors} error{'s' if errors != 1 else ''}")
        self._badge.setVisible(errors > 0)
        if errors and not self._badge.isChecked():
            self._badge.setChecked(True)

    # -- header and source -----------------------------------------------------------------
    def _network_toggled(self, on: bool) -> None:
        render = self._front.render
        if self._interceptor is not None and render is not None:
            self._interceptor.set_network_allowed(host_for(render.artifact_id), on)

    def _allowed_network(self, url: str, host: str) -> None:
        for slot in (self._back, self._front):
            if slot.render is not None and host_for(slot.render.artifact_id) == host:
                slot.view.artifact_page.note("network", f"network request to {url} (allowed)", url)
                return

    def _sync_network_toggle(self, render: _Render) -> None:
        """Show the toggle state of the artifact on screen (without changing it)."""
        on = self._interceptor is not None and self._interceptor.network_allowed(host_for(render.artifact_id))
        self.network_toggle.blockSignals(True)
        self.network_toggle.setChecked(on)
        self.network_toggle.setEnabled(self._interceptor is not None)
        self.network_toggle.blockSignals(False)

    def _set_header(self, render: _Render) -> None:
        self._sync_network_toggle(render)
        self._title.setText(render.title)
        self._kind.setText(render.kind)

    def _refresh_source(self) -> None:
        """Put the shown version's source in the editor, unless the user is editing it."""
        render = self._front.render
        text = "" if render is None else (render.source if render.source is not None else render.html)
        if not self.source_panel.is_modified():
            self.source_panel.set_source(text)

    def source_text(self) -> str:
        """The plain text of the Source tab (for tests and accessibility)."""
        self._refresh_source()
        return self.source_panel.text()

    def set_versions(self, versions: list[tuple[int, str, str, str]], current: int | None) -> None:
        """Show the version strip and fill the Diff tab.

        Args:
            versions: (number, origin, title, source) of every version, oldest first.
            current: the version on screen (None: none).
        """
        origin = next((o for n, o, _t, _s in versions if n == current), None)
        self.version_bar.set_position(current or 0, len(versions), origin)
        self.diff_view.set_versions([(n, f"v{n} ({o})", src) for n, o, _t, src in versions], current)
