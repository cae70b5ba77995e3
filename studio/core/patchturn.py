"""Patch turns: an answer that edits the current artifact, applied as it streams (no Qt).

:class:`PatchTurn` follows one streaming answer. Once the answer shows a ``<<<<<<< SEARCH`` line
and there is a current artifact, it is a patch answer: each completed block is applied (with those
before it) to the current source, and a good intermediate result is offered for the preview. At the
end :meth:`PatchTurn.finish` says what the answer made: a ``full`` artifact, a ``patch`` of the
current one, or ``failed`` (some block did not apply: ask once for the complete file with
:func:`fallback_prompt`). :class:`PatchPreview` is the window's use of it (whole pages rendered as
blocks complete, the page on screen put back when nothing applies); :class:`TurnFlow` is the
multi-turn flow of ``generate``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from studio.core.extract import extract
from studio.core.extract.types import Artifact
from studio.core.patch import (
    EditBlock,
    PatchResult,
    PatchStream,
    apply_blocks,
    failure_report,
    line_changes,
    looks_like_patch,
)
from studio.core.standalone import standalone_html

if TYPE_CHECKING:
    from studio.core.conversation import ChatMessage
    from studio.core.livepreview import Version

log = logging.getLogger(__name__)

FENCE = {"html": "html", "svg": "svg", "react": "jsx"}
FALLBACK_OPENING = "Your edits could not be applied to the current file:"


def patched(base: Artifact, source: str) -> Artifact:
    """The current artifact with a new source (a whole artifact: complete, no blocks)."""
    return dataclasses.replace(base, source=source, complete=True, truncated=False, blocks=())


def source_preamble(artifact: Artifact, phrase: str = "after your edits") -> str:
    """The current source, put before a user turn so the model edits what is current."""
    fence = FENCE.get(artifact.kind, "html")
    return f"The current version of the artifact ({phrase}):\n```{fence}\n{artifact.source}\n```\n\n"


def fallback_prompt(result: PatchResult, kind: str = "html") -> str:
    """The user turn that asks, once, for the complete file after edits failed."""
    fence = FENCE.get(kind, "html")
    return (
        f"{FALLBACK_OPENING}\n{failure_report(result)}\n\n"
        f"Answer with the complete updated file in one ```{fence} code block instead, with every change "
        "I asked for."
    )


@dataclass(slots=True)
class TurnOutcome:
    """What one answer made.

    Attributes:
        mode: "full" (a whole artifact), "patch" (edits applied to the current one), "failed" (edits
            that did not apply: the current artifact is unchanged), "stopped" (edits cut short by Stop
            or an error) or "none" (no artifact, no edits).
        artifact: the artifact the answer made (None for "failed" and "none").
        result: the patch result of a patch answer ("patch" or "failed"), else None.
    """

    mode: str
    artifact: Artifact | None = None
    result: PatchResult | None = None

    def summary(self) -> str:
        """One short line for the chat / the terminal, e.g. "3 edits, +12 −4 lines"."""
        if self.result is not None:
            return self.result.summary()
        return "full file" if self.artifact is not None else "no artifact"


class PatchTurn:
    """Follows one streaming answer that may patch ``base``.

    Args:
        base: the current artifact (None: nothing to patch, every answer is a full one).
    """

    def __init__(self, base: Artifact | None) -> None:
        self.base = base
        self.stream = PatchStream()
        self.is_patch = False
        self.latest: PatchResult | None = None  # the last intermediate result that applied
        self.broken = False  # a block failed while streaming: no more intermediate results
        self._parts: list[str] = []
        self._tail = ""

    @property
    def text(self) -> str:
        """The answer so far."""
        return "".join(self._parts)

    def feed(self, delta: str) -> PatchResult | None:
        """Feed streamed text; returns a new intermediate result when a block completed and applied.

        Each new block is applied once, to the result of the blocks before it (the same order
        :func:`apply_blocks` uses), so a long answer does not re-apply every block at every step.
        """
        self._parts.append(delta)
        if not self.is_patch:
            self._tail = (self._tail + delta)[-4096:]  # a marker line is short: the tail will hold it
            self.is_patch = looks_like_patch(self._tail)
        new = self.stream.feed(delta)
        if not new or self.broken or self.base is None:
            return None
        return self._step(new)

    def _step(self, new: list[EditBlock]) -> PatchResult | None:
        assert self.base is not None
        prev = self.latest.text if self.latest is not None else self.base.source
        step = apply_blocks(prev, new)
        if not step.ok:
            self.broken = True
            return None
        added, removed = line_changes(self.base.source, step.text)
        how = [*(self.latest.how if self.latest is not None else []), *step.how]
        self.latest = PatchResult(True, step.text, len(how), [], added, removed, how)
        return self.latest

    def finish(self) -> TurnOutcome:
        """The answer ended: what it made (a patch is applied whole, all or nothing)."""
        last = self.stream.finish()
        if not self.is_patch:
            art = extract(self.text).artifact
            return TurnOutcome("full" if art is not None else "none", art)
        if self.base is None:
            log.info("edit blocks with no artifact to apply them to")
            return TurnOutcome("none")
        if last and not self.broken:
            self._step(last)
        cut = self.stream.open_block  # the answer ended inside a block: the patch is incomplete
        if self.broken or self.latest is None or cut is not None:
            result = apply_blocks(self.base.source, self.stream.blocks)  # again, to report every failure
            if cut is not None:
                result.ok, result.text, result.added, result.removed = False, self.base.source, 0, 0
                result.failed.append((cut, "the answer ended inside this edit block"))
            return TurnOutcome("failed", None, result)
        return TurnOutcome("patch", patched(self.base, self.latest.text), self.latest)


Render = Callable[[Artifact, str, bool], None]


class PatchPreview:
    """One answer that may edit ``base``; the runner feeds it before the live preview.

    Args:
        base: the version the answer edits (None: nothing to patch).
        before: the version on screen when the answer started (put back when nothing is applied).
        render: ``render(artifact, html, final)`` shows a page in the pane.
    """

    def __init__(self, base: Version | None, before: Version | None, render: Render) -> None:
        self.base, self.before, self._render = base, before, render
        self.turn = PatchTurn(base.artifact if base is not None else None)
        self._stepped = False  # an intermediate patched page is on screen

    @property
    def active(self) -> bool:
        """True once the answer is a patch of ``base``."""
        return self.base is not None and self.turn.is_patch

    def feed(self, text: str) -> bool:
        """Streamed text; True when the answer is a patch (then the live preview must not see it)."""
        step = self.turn.feed(text)
        if not self.active:
            return False
        if step is not None and self.turn.base is not None:
            art = patched(self.turn.base, step.text)
            self._render(art, standalone_html(art), False)  # a whole page: every block so far applied
            self._stepped = True
        return True

    def finish(self, reason: str) -> TurnOutcome:
        """The answer ended: what its edits made ("stopped" when it was cut short by Stop or an error)."""
        outcome = self.turn.finish() if reason in ("stop", "length") else TurnOutcome("stopped")
        if outcome.mode != "patch" and self._stepped and self.before is not None:
            self._render(self.before.artifact, self.before.html, True)  # nothing applied: put it back
        return outcome


Ask = Callable[[list["ChatMessage"], str], str]


@dataclass(slots=True)
class TurnReport:
    """One ``generate`` turn: how it went (``mode`` is "full", "patch", "fallback" or "none")."""

    turn: int
    mode: str
    applied: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    fallback_ok: bool | None = None

    def to_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)


class TurnFlow:
    """The messages and the current artifact of a multi-turn conversation (``generate``).

    Args:
        system: the system prompt.
    """

    def __init__(self, system: str) -> None:
        self.messages: list[ChatMessage] = [{"role": "system", "content": system}]
        self.artifact: Artifact | None = None
        self._model_has_current = True  # False once the current source is not an answer of the model

    def user(self, content: str) -> list[ChatMessage]:
        """Add a user turn (after the current source when the model has not seen it); the messages."""
        if self.artifact is not None and not self._model_has_current:
            content = source_preamble(self.artifact) + content
            self._model_has_current = True
        self.messages.append({"role": "user", "content": content})
        return self.messages

    def answer(self, text: str) -> TurnOutcome:
        """Add the model's whole answer; the current artifact follows what it made."""
        turn = PatchTurn(self.artifact)
        turn.feed(text)
        outcome = turn.finish()
        self.messages.append({"role": "assistant", "content": text})
        if outcome.mode in ("full", "patch") and outcome.artifact is not None:
            self._model_has_current = outcome.mode == "full"
            self.artifact = outcome.artifact
        return outcome

    def run(
        self,
        turn: int,
        prompt: str,
        ask: Ask,
        *,
        content: str | None = None,
        on_outcome: Callable[[TurnOutcome], None] | None = None,
        on_fallback: Callable[[TurnOutcome], None] | None = None,
    ) -> TurnReport:
        """One turn: ask, apply, and when edits failed ask once more for the complete file.

        Args:
            turn: the turn's number (1-based).
            prompt: the user's request.
            ask: ``ask(messages, prompt)`` gives the model's answer (the CLI streams it from an
                engine; it may raise to stop the flow).
            content: the user turn as the model reads it (default ``prompt``; e.g. with attachments).
            on_outcome: told what each answer made (the turn's, then the fallback's).
            on_fallback: told when the edits failed, before the fallback is asked for.
        """
        outcome = self.answer(ask(self.user(content or prompt), prompt))
        if on_outcome is not None:
            on_outcome(outcome)
        report = _report(turn, outcome)
        if outcome.mode != "failed" or outcome.result is None:
            return report
        if on_fallback is not None:
            on_fallback(outcome)
        kind = self.artifact.kind if self.artifact is not None else "html"
        again_prompt = fallback_prompt(outcome.result, kind)
        again = self.answer(ask(self.user(again_prompt), again_prompt))
        if on_outcome is not None:
            on_outcome(again)
        report.mode = "fallback"
        report.fallback_ok = again.mode == "full"
        return report


def _report(turn: int, outcome: TurnOutcome) -> TurnReport:
    r = outcome.result
    if r is None:
        return TurnReport(turn, outcome.mode)
    failed = [{"reason": reason, "search": b.search} for b, reason in r.failed]
    return TurnReport(turn, outcome.mode, r.applied, failed, r.added, r.removed)
