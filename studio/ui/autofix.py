"""Self-check after every answer and the bounded auto-fix loop.

When an answer with an artifact ends, its final render is watched for a moment: console errors, a
blank frame or a hang make it fail. A failing artifact shows a bar with "Fix it"; with the auto-fix
setting (default 1, at most 3) the fix starts by itself. A fix is a user turn built by
:func:`studio.core.fixprompt.fix_prompt`; its answer becomes a new version. The loop stops early
when a fix does not reduce the problems, and a new request from the user starts a new loop.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from studio.core.extract.types import fence_for
from studio.core.fixprompt import (
    DEFAULT_AUTO_FIXES,
    FixLoop,
    Verdict,
    clamp_auto_fixes,
    fix_prompt,
    self_check,
    wants_probe,
)
from studio.web.checker import is_blank

if TYPE_CHECKING:
    from studio.core.session import ChatSession
    from studio.engine.base import Chunk
    from studio.store.settings import Settings
    from studio.ui.answerrunner import AnswerRunner
    from studio.ui.artifactpane import ArtifactPane
    from studio.ui.composer import Composer

log = logging.getLogger(__name__)

SETTLE_MS = 800  # how long a final render runs before it is judged (late errors, timers)
POLL_MS = 50


def auto_fix_setting(settings: Settings) -> int:
    """The "auto-fix up to N times" setting (0 to 3, default 1)."""
    return clamp_auto_fixes(settings.auto_fix)


class AutoFixer(QObject):
    """Checks each answer's artifact and runs the fix loop for a chat.

    It hears every answer through the runner, whichever controller runs it (a model chosen later or
    switched to included).

    Args:
        session: the chat (its versions, the version on screen, the turn being edited).
        runner: whose ``answerFinished`` starts a check.
        pane: where the artifact renders (its console, frame and hang signal; the bar goes under its header).
        composer: what the user is typing is kept across a fix turn.
        auto_fixes: how many fixes start without a click.
        parent: the Qt parent.

    Signals:
        checked(object): the :class:`Verdict` of an answer's final render.
        fixStarted(int): a fix turn was sent (1 for the first in this loop, ...); auto or clicked.
        stopped(str): the loop ended without a pass ("stalled": a fix did not help; "limit").
        sendRequested(str): send this fix prompt as the user's next turn (the window sends it at once).
    """

    checked = Signal(object)
    fixStarted = Signal(int)
    stopped = Signal(str)
    sendRequested = Signal(str)

    def __init__(
        self,
        session: ChatSession,
        runner: AnswerRunner,
        pane: ArtifactPane,
        composer: Composer,
        auto_fixes: int = DEFAULT_AUTO_FIXES,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.s, self.pane, self.composer = session, pane, composer
        self.loop = FixLoop(auto_fixes)
        self.last: Verdict | None = None
        self._pending: str | None = None  # the answer whose render is awaited
        self._hung = False
        self._waited = 0
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._build_bar()
        pane.hung.connect(self._on_hung)
        pane.livenessChecked.connect(self._on_liveness)
        self._probing: tuple[str, str, list[dict], bool] | None = None  # msg_id, html, entries, blank
        runner.answerFinished.connect(self._on_finished)

    @property
    def auto_fixes(self) -> int:
        """How many fixes start without a click."""
        return self.loop.auto_fixes

    def set_auto_fixes(self, n: int) -> None:
        """Change the auto-fix setting (kept within 0..3)."""
        self.loop = FixLoop(n, self.loop.done, self.loop.history)

    # -- the bar ---------------------------------------------------------------------------
    def _build_bar(self) -> None:
        self.bar = QWidget()
        self.bar.setObjectName("fixBar")
        row = QHBoxLayout(self.bar)
        row.setContentsMargins(6, 2, 6, 2)
        self.label = QLabel()
        self.fix_button = QPushButton("Fix it")
        self.fix_button.setObjectName("fixButton")
        self.fix_button.clicked.connect(self.fix)
        self.diff_button = QPushButton("Show diff")
        self.diff_button.clicked.connect(self._show_diff)
        row.addWidget(self.label, 1)
        row.addWidget(self.diff_button)
        row.addWidget(self.fix_button)
        self.bar.hide()
        layout = self.pane.layout()
        if isinstance(layout, QBoxLayout):
            layout.insertWidget(1, self.bar)  # under the pane's header

    def _show(self, text: str, offer_fix: bool, diff: bool) -> None:
        self.label.setText(text)
        self.fix_button.setVisible(offer_fix)
        self.diff_button.setVisible(diff)
        self.bar.show()

    def _show_diff(self) -> None:
        self.pane.tabs.setCurrentWidget(self.pane.diff_view)

    # -- checking --------------------------------------------------------------------------
    def _on_finished(self, msg_id: str, chunk: Chunk, _end: object = None) -> None:
        if chunk.finish_reason not in ("stop", "length") or self.s.versions.get(msg_id) is None:
            return
        if not self.is_fix_answer(msg_id):
            self.loop.reset()  # the user asked for something new
        self._pending = msg_id
        self._hung = False
        self._waited = 0
        self.bar.hide()
        self._timer.start()

    def is_fix_answer(self, msg_id: str) -> bool:
        """Whether the answer ``msg_id`` replies to a fix prompt."""
        return self.s.is_fix_answer(msg_id)

    def _on_hung(self) -> None:
        self._hung = True

    def _poll(self) -> None:
        if self._pending is None:
            self._timer.stop()
            return
        if self.pane.is_rendering():
            self._waited = 0
            return
        self._waited += POLL_MS
        if self._waited < SETTLE_MS and not self._hung:
            return
        self._timer.stop()
        msg_id, self._pending = self._pending, None
        self._judge(msg_id)

    def _judge(self, msg_id: str) -> None:
        version = self.s.versions.get(msg_id)
        if version is None or self.pane.current_html() != version.html:
            return  # something else is on screen now
        entries = self.pane.console_entries()
        errors = [e for e in entries if e.get("level") == "error"]
        blank = not errors and not self._hung and is_blank(self.pane.frame())
        verdict, line = self_check(entries, blank=blank, hung=self._hung)
        if wants_probe(verdict):  # no error of its own: does it move, do its controls work?
            self._probing = (msg_id, version.html, entries, blank)
            self.pane.probe_liveness(self.s.artifact_id, version.html)
            return
        self._decide(msg_id, verdict, line)

    def _on_liveness(self, html: str, report: dict) -> None:
        if self._probing is None or self._probing[1] != html:
            return
        msg_id, _html, entries, blank = self._probing
        self._probing = None
        version = self.s.versions.get(msg_id)
        if version is None or self.pane.current_html() != html:
            return
        msg = self.s.conversation.get(msg_id)
        parent = self.s.conversation.get(msg.parent_id) if msg.parent_id else None
        request = parent.content if parent is not None and parent.content not in self.s.fix_prompts else ""
        verdict, line = self_check(
            entries, blank=blank, report=report, source=version.artifact.source, request=request
        )
        self._decide(msg_id, verdict, line)

    def _decide(self, msg_id: str, verdict: Verdict, line: str) -> None:
        self.pane.set_check_line(line, verdict.ok)
        self.last = verdict
        log.info("self-check of %s: %s", msg_id, verdict.summary())
        self.checked.emit(verdict)
        before = self.loop.history[-1] if self.loop.history else None
        action = self.loop.decide(verdict)
        fixed = before is not None and self.loop.done > 0
        change = f" ({before} → {verdict.problems} problems)" if fixed else ""
        if action == "pass":
            if fixed:
                self._show(f"Fixed{change}.", offer_fix=False, diff=True)
            elif verdict.environment:  # never the model's to fix: one line for the user
                self._show(verdict.environment_notice(), offer_fix=False, diff=False)
            else:
                self.bar.hide()
        elif action == "auto":
            self._show(
                f"The artifact has problems: {verdict.summary()}. Fixing…", offer_fix=False, diff=False
            )
            QTimer.singleShot(0, self._auto_fix)
        elif action == "stalled":
            self._show(f"The fix did not help{change}: {verdict.summary()}.", offer_fix=True, diff=True)
            self.stopped.emit("stalled")
        else:
            self._show(f"The artifact has problems: {verdict.summary()}.", offer_fix=True, diff=fixed)
            if fixed:
                self.stopped.emit("limit")

    # -- fixing ----------------------------------------------------------------------------
    def _auto_fix(self) -> None:
        if not self.fix() and self.last is not None and not self.last.ok:
            self._show(f"The artifact has problems: {self.last.summary()}.", offer_fix=True, diff=False)

    def fix(self) -> bool:
        """Ask the model to fix the artifact on screen (the last check's problems).

        Returns:
            False when there is nothing to fix or the window is busy.
        """
        version = self.s.current_version()
        if self.last is None or self.last.ok or version is None or self.s.busy:
            return False
        if self.s.editing is not None:
            return False  # the user is editing a turn: a fix now would replace their edit
        art = version.artifact
        prompt = fix_prompt(self.last, art.source, version.html, fence=fence_for(art.kind))
        self.s.fix_prompts.add(prompt)
        self._show(f"Fixing: {self.last.summary()}…", offer_fix=False, diff=False)
        self.fixStarted.emit(len(self.loop.history))
        draft = self.composer.text()  # sending clears the composer: keep what the user is typing
        self.sendRequested.emit(prompt)
        if draft:
            self.composer.set_text(draft)
        return True

    def shutdown(self) -> None:
        """Stop watching (the window is closing)."""
        self._timer.stop()
        self._pending = None
        self._probing = None
