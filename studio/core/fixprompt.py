"""Self-check verdicts and the "fix it" prompt (Qt-free; studio.ui.autofix drives the loop).

A finished artifact fails its self-check when it logged a JavaScript error, hung, drew nothing, never
moved though it should (a game, an animation), or its controls did nothing (studio.core.checks).
Errors of the environment (no WebGL, audio before a gesture, storage quota) are not the model's: they
are kept apart and never put in a fix prompt. The fix prompt hands the model each error with its line
number and the lines around it, what was tried, and the current source, and asks for SEARCH/REPLACE
edits against that source (the complete corrected file only when most of it must change). The loop
is bounded: at most N automatic fixes, and it stops as soon as a fix does not reduce the problems.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from studio.core.checks import (
    ENV_MESSAGES,
    Liveness,
    LiveProblems,
    is_environment_error,
    live_problems,
    pane_line,
)

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
        still: meant to move (a game, an animation) and nothing moved, not even after input.
        dead: there were controls or key handlers and no input changed anything.
        tried: the inputs sent and their outcomes ("clicked 'Add one': nothing changed").
        environment: environment issue kinds ("webgl", "audio", "storage"): never the model's to fix.
        env_errors: the console errors the environment caused (kept out of ``errors``).
    """

    errors: tuple[dict, ...] = ()
    blank: bool = False
    hung: bool = False
    still: bool = False
    dead: bool = False
    tried: tuple[str, ...] = ()
    environment: tuple[str, ...] = ()
    env_errors: tuple[dict, ...] = ()

    @property
    def problems(self) -> int:
        """How bad it is: one per error, one each for blank, hang, no motion and dead controls."""
        return len(self.errors) + int(self.blank) + int(self.hung) + int(self.still) + int(self.dead)

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
        if self.still:
            parts.append("never moves")
        if self.dead:
            parts.append("controls do nothing")
        return ", ".join(parts) or "no problems"

    def environment_notice(self) -> str:
        """One line for the user about what the machine, not the code, got in the way of ('' if none)."""
        return " ".join(ENV_MESSAGES[k] for k in self.environment if k in ENV_MESSAGES)


def verdict_from(
    entries: list[dict], *, blank: bool = False, hung: bool = False, live: LiveProblems | None = None
) -> Verdict:
    """A verdict from console entries (only errors count), the frame/hang observations and liveness.

    Args:
        entries: the page's console entries.
        blank: the frame was one colour.
        hung: the page stopped responding.
        live: the liveness judgement (studio.core.checks.live_problems); its environment issues
            take the errors they explain (and a blank WebGL canvas) away from the model.
    """
    env = (live or live_problems(None, entries)).environment
    every = tuple(e for e in entries if e.get("level") == "error")
    errors = tuple(e for e in every if not is_environment_error(e, env))
    env_errors = tuple(e for e in every if e not in errors)
    hung = hung or any("stopped responding" in str(e.get("message", "")) for e in errors)
    blank = blank and "webgl" not in env
    if live is None:
        return Verdict(errors, blank, hung, environment=env, env_errors=env_errors)
    return Verdict(
        errors,
        blank,
        hung,
        still=live.still and not hung,
        dead=live.dead and not hung,
        tried=live.tried,
        environment=env,
        env_errors=env_errors,
    )


def self_check(
    entries: list[dict],
    *,
    blank: bool = False,
    hung: bool = False,
    report: dict | None = None,
    source: str = "",
    request: str = "",
) -> tuple[Verdict, str]:
    """The whole self-check of a final render: its verdict and the pane's one-line summary.

    Args:
        entries: console entries of the render the user sees.
        blank: its frame was one colour.
        hung: it stopped responding.
        report: the liveness probe's fields (None: not probed, e.g. it already failed on errors).
        source: the artifact source; request: the user's request (is it meant to move?).
    """
    live = Liveness.from_report(report) if report and report.get("alive") is not None else None
    problems = live_problems(live, entries, source=source, request=request)
    verdict = verdict_from(entries, blank=blank, hung=hung, live=problems)
    line = pane_line(errors=len(verdict.errors), blank=verdict.blank, hung=hung, live=live, problems=problems)
    return verdict, line


def wants_probe(verdict: Verdict) -> bool:
    """Whether to probe motion and input: only a render with no error of its own (errors come first)."""
    return not (verdict.errors or verdict.hung or verdict.blank)


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
    if verdict.still:
        out.append(
            "- Nothing moves: the frame stayed the same for a second and after input. It should animate "
            "(start its loop with requestAnimationFrame when the page loads)."
        )
    if verdict.dead:
        out.append("- The controls do nothing: no input changed the page. What was tried:")
        out.extend(f"  - {item}" for item in verdict.tried[:MAX_ERRORS_SHOWN])
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
