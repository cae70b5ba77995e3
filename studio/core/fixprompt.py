"""Self-check verdicts and the "fix it" prompt (Qt-free; studio.ui.autofix drives the loop).

A finished artifact fails its self-check when it logged a JavaScript error, hung, or drew nothing.
The fix prompt hands the model each error with its line number and the lines around it, and the
current source, and asks for SEARCH/REPLACE edits against that source (the complete corrected file
only when most of it must change). The loop is bounded: at most N automatic
fixes, and it stops as soon as a fix does not reduce the problems.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

MAX_AUTO_FIXES = 3
DEFAULT_AUTO_FIXES = 1
CONTEXT_LINES = 3
MAX_ERRORS_SHOWN = 8
MAX_MESSAGE_CHARS = 400


@dataclass(frozen=True)
class Verdict:
    """The self-check of one final render.

    Attributes:
        errors: console entries of level "error" ({level, message, line, source}).
        blank: the frame was one flat colour.
        hung: the page stopped responding and was stopped.
    """

    errors: tuple[dict, ...] = ()
    blank: bool = False
    hung: bool = False

    @property
    def problems(self) -> int:
        """How bad it is: one per error, plus one for a blank frame and one for a hang."""
        return len(self.errors) + int(self.blank) + int(self.hung)

    @property
    def ok(self) -> bool:
        """Whether the artifact passed."""
        return self.problems == 0

    def summary(self) -> str:
        """One short line for the UI, e.g. "2 errors, blank"."""
        parts = []
        if self.errors:
            parts.append(f"{len(self.errors)} error{'s' if len(self.errors) != 1 else ''}")
        if self.blank:
            parts.append("blank")
        if self.hung:
            parts.append("stopped responding")
        return ", ".join(parts) or "no problems"


def verdict_from(entries: list[dict], *, blank: bool = False, hung: bool = False) -> Verdict:
    """A verdict from console entries (only errors count) and the frame/hang observations."""
    errors = tuple(e for e in entries if e.get("level") == "error")
    hung = hung or any("stopped responding" in str(e.get("message", "")) for e in errors)
    return Verdict(errors, blank, hung)


def excerpt(text: str, line: int, context: int = CONTEXT_LINES) -> str:
    """The lines around ``line`` (1-based), numbered, the line itself marked with ``>``."""
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    lo, hi = max(1, line - context), min(len(lines), line + context)
    width = len(str(hi))
    return "\n".join(f"{'>' if n == line else ' '} {n:>{width}} | {lines[n - 1]}" for n in range(lo, hi + 1))


FIX_OPENING = "The artifact you wrote does not work yet. When it ran in the preview:"
SOURCE_HEADING = "Here is the current source:"


def display_text(content: str) -> str:
    """What the chat shows for a user turn: a fix turn without the whole source it carries."""
    if not content.startswith(FIX_OPENING) or SOURCE_HEADING not in content:
        return content
    head = content.split(SOURCE_HEADING, 1)[0].rstrip()
    return f"Auto-fix: {head}\n\n(the current source went with it)"


def fix_prompt(verdict: Verdict, source: str, page: str | None = None, *, fence: str = "html") -> str:
    """The user turn that asks the model to fix its artifact.

    Args:
        verdict: what went wrong.
        source: the artifact's current source (sent whole).
        page: the page as rendered, whose line numbers the errors use (default: ``source``).
        fence: the code fence language of the answer asked for.

    Returns:
        The prompt text.
    """
    page = source if page is None else page
    out = [FIX_OPENING]
    seen: set[tuple[str, int]] = set()
    shown = 0
    for e in verdict.errors:
        message = str(e.get("message", "")).strip()[:MAX_MESSAGE_CHARS]
        line = int(e.get("line") or 0)
        if (message, line) in seen:
            continue
        seen.add((message, line))
        shown += 1
        if shown > MAX_ERRORS_SHOWN:
            out.append(f"- ... and {len(verdict.errors) - MAX_ERRORS_SHOWN} more errors")
            break
        where = f" (line {line})" if line else ""
        out.append(f"- JavaScript error{where}: {message}")
        near = excerpt(page, line) if line else ""
        if near:
            out.append(f"```\n{near}\n```")
    if verdict.hung:
        out.append(
            "- The page stopped responding (an endless loop or a blocking computation) and was stopped."
        )
    if verdict.blank:
        out.append("- The page showed nothing: the frame was blank.")
    out.append("")
    out.append(f"{SOURCE_HEADING}\n\n```{fence}\n{source.rstrip()}\n```\n")
    out.append(
        "Fix every problem above with SEARCH/REPLACE edit blocks against the current source (the "
        f"complete corrected file in one ```{fence} code block only when most of it must change), then "
        "one short sentence saying what you changed."
    )
    return "\n".join(out)


def clamp_auto_fixes(n: int) -> int:
    """The auto-fix setting, kept within 0..MAX_AUTO_FIXES."""
    return max(0, min(MAX_AUTO_FIXES, int(n)))


@dataclass
class FixLoop:
    """The bounded fix loop of one artifact (plain state; the UI feeds it verdicts).

    Attributes:
        auto_fixes: how many fixes may start without a click (0..3).
        done: automatic fixes started so far in this run of the loop.
        history: problem counts of the checked versions, oldest first.
    """

    auto_fixes: int = DEFAULT_AUTO_FIXES
    done: int = 0
    history: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.auto_fixes = clamp_auto_fixes(self.auto_fixes)

    def reset(self) -> None:
        """A new request from the user starts a new loop."""
        self.done = 0
        self.history.clear()

    def decide(self, verdict: Verdict) -> str:
        """What to do after a check.

        Returns:
            "pass" (nothing to fix), "auto" (start a fix now), "offer" (show "Fix it" and wait),
            or "stalled" (the last fix did not reduce the problems: offer, never auto-fix again).
        """
        self.history.append(verdict.problems)
        if verdict.ok:
            return "pass"
        if len(self.history) >= 2 and self.done and self.history[-1] >= self.history[-2]:
            log.info("auto-fix stopped: problems went %s", " -> ".join(map(str, self.history)))
            self.done = self.auto_fixes  # no more automatic tries in this loop
            return "stalled"
        if self.done < self.auto_fixes:
            self.done += 1
            return "auto"
        return "offer"
