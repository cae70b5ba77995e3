"""Liveness verdicts: does the artifact move, answer input, fit the view, and whose fault is an error.

Qt-free. The probe (``studio.web.liveness``) measures a page and hands over a plain report:

- ``alive``: the pixels changed between frames taken about a second apart.
- ``responds``: after synthetic input (clicks on the visible controls and the canvas centre, the keys
  ArrowLeft/Right/Up/Down, Space, Enter) the frame or the DOM changed with no new error; False when
  nothing changed; None when the page has nothing to interact with.
- ``overflow``: the page scrolls sideways at 1024x768.
- ``fps``: frames the page rendered per second over 2 s; ``long_tasks``: main-thread tasks > 200 ms.
- ``tried``: what was done and what came of it ("clicked 'Add one': nothing changed").

Errors of the environment (no WebGL context, audio blocked until a gesture, storage quota) are never
the model's to fix: :func:`environment_issue` tells them apart so the fix prompt leaves them out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

LONG_TASK_MS = 200
"""A main-thread task longer than this counts in ``long_tasks``."""

FIELDS = ("alive", "responds", "overflow", "fps", "long_tasks")
"""The report fields ``check --json`` and ``eval`` add for liveness."""

_ENV_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "webgl",
        re.compile(
            r"error creating webgl context|webgl (?:context|is not supported|not supported|unavailable)|"
            r"could not create (?:a )?webgl|webgl2? context (?:lost|could not)|failed to create webgl",
            re.I,
        ),
    ),
    (
        "audio",
        re.compile(
            r"audiocontext was not allowed to start|play\(\) failed because the user didn't interact|"
            r"notallowederror: play\(\)",
            re.I,
        ),
    ),
    ("storage", re.compile(r"quotaexceedederror|exceeded the quota|quota (?:has been )?exceeded", re.I)),
    (
        "model",  # window.studio refused by the user, the check or an exported file (core/bridge.py)
        re.compile(
            r"window\.studio(?: is only available inside|: (?:the user did not allow|the user stopped|stopped by "
            r"the user|the check does not run|the model is not available|no model is loaded|the artifact's run))"
        ),
    ),
)

ENV_MESSAGES = {
    "webgl": "This machine gave the artifact no WebGL (3D graphics) context.",
    "audio": "The artifact's sound waits for a click in the preview (browsers block audio until then).",
    "storage": "The artifact's storage is full: use Reset state to clear what it saved.",
    "model": "The artifact's calls to the model were refused or stopped (Settings lists what you allowed).",
}
"""One line for the user per environment issue (the model is never asked to fix these)."""


def environment_issue(message: str) -> str | None:
    """The environment issue a console message reports ("webgl", "audio", "storage", "model"), else None."""
    for kind, pattern in _ENV_PATTERNS:
        if pattern.search(message):
            return kind
    return None


_MOTION_WORDS = re.compile(
    r"\b(?:game|animat\w*|moving|moves?|bounc\w*|spin\w*|rotat\w*|particles?|simulat\w*|fall\w*|fly\w*|"
    r"orbit\w*|physics|snake|pong|tetris|breakout|asteroids|flappy|racing|shooter)\b",
    re.I,
)
_LOOP_CALLS = re.compile(
    r"\brequestAnimationFrame\s*\(|\bsetInterval\s*\(|@keyframes\b|\.setAnimationLoop\s*\("
)


def expects_motion(source: str, request: str = "") -> bool:
    """Whether the artifact is meant to move: it runs a frame loop or the user asked for motion."""
    return bool(_LOOP_CALLS.search(source) or (request and _MOTION_WORDS.search(request)))


@dataclass(frozen=True)
class Liveness:
    """What the probe measured on one page (every field None when not measured).

    Attributes:
        alive: pixels changed between frames about a second apart.
        responds: synthetic input changed the frame or the DOM (None: nothing to interact with).
        overflow: horizontal scrolling at 1024x768.
        fps: frames rendered per second over 2 s.
        long_tasks: main-thread tasks over 200 ms.
        tried: each input sent and its outcome, in order.
        webgl: whether the page could get a WebGL context (None: not asked).
    """

    alive: bool | None = None
    responds: bool | None = None
    overflow: bool | None = None
    fps: float | None = None
    long_tasks: int | None = None
    tried: tuple[str, ...] = ()
    webgl: bool | None = None

    @classmethod
    def from_report(cls, report: dict) -> Liveness:
        """Read the fields of a ``check --json`` report (missing ones stay None)."""
        fps = report.get("fps")
        return cls(
            alive=report.get("alive"),
            responds=report.get("responds"),
            overflow=report.get("overflow"),
            fps=None if fps is None else float(fps),
            long_tasks=report.get("long_tasks"),
            tried=tuple(report.get("tried") or ()),
            webgl=report.get("webgl"),
        )

    def fields(self) -> dict:
        """The JSON fields (``FIELDS`` plus ``tried`` and ``webgl``)."""
        return {
            "alive": self.alive,
            "responds": self.responds,
            "overflow": self.overflow,
            "fps": self.fps,
            "long_tasks": self.long_tasks,
            "tried": list(self.tried),
            "webgl": self.webgl,
        }


@dataclass(frozen=True)
class LiveProblems:
    """The liveness problems the model can fix, and the environment ones it cannot.

    Attributes:
        still: meant to move, and nothing moved (not by itself, not after input).
        dead: there were controls or key handlers, and no input changed anything.
        tried: what was tried (for the fix prompt).
        environment: environment issue kinds seen ("webgl", "audio", "storage"), in order.
    """

    still: bool = False
    dead: bool = False
    tried: tuple[str, ...] = ()
    environment: tuple[str, ...] = field(default_factory=tuple)

    @property
    def count(self) -> int:
        """How many fixable problems (the fix loop's measure)."""
        return int(self.still) + int(self.dead)


def live_problems(
    live: Liveness | None, entries: list[dict], *, source: str = "", request: str = ""
) -> LiveProblems:
    """Judge a measured page.

    Args:
        live: the probe's report (None: not measured; only the environment is judged).
        entries: the page's console entries ({level, message, ...}).
        source: the artifact's source (does it run a frame loop?).
        request: the user's request (did they ask for a game or an animation?).

    Returns:
        The problems; an environment issue masks motion and response (the page could not run).
    """
    env: list[str] = []
    for e in entries:
        kind = environment_issue(str(e.get("message", "")))
        if kind and kind not in env:
            env.append(kind)
    if live is not None and live.webgl is False and "webgl" not in env and _uses_webgl(source):
        env.append("webgl")
    if live is None or "webgl" in env:
        return LiveProblems(environment=tuple(env))
    moved = bool(live.alive) or live.responds is True
    still = not moved and expects_motion(source, request)
    dead = live.responds is False and not still
    return LiveProblems(still=still, dead=dead, tried=live.tried, environment=tuple(env))


_WEBGL_USE = re.compile(
    r"getContext\(\s*['\"](?:webgl2?|experimental-webgl)['\"]|\bWebGL\w*Renderer\b|\bBABYLON\b"
)


def _uses_webgl(source: str) -> bool:
    return bool(_WEBGL_USE.search(source))


def is_environment_error(entry: dict, environment: tuple[str, ...] = ()) -> bool:
    """Whether a console error is the environment's fault, not the code's.

    With no WebGL every later error is a consequence of it (three.js throws, then ``null.clear``).
    """
    return "webgl" in environment or environment_issue(str(entry.get("message", ""))) is not None


def pane_line(
    *, errors: int, blank: bool, hung: bool, live: Liveness | None, problems: LiveProblems | None = None
) -> str:
    """The compact self-check line: "renders · moves · responds", each failed part saying why.

    Examples: "renders · moves · responds"; "renders · still · no response (clicked 'Add one': nothing
    changed)"; "2 errors · no WebGL on this machine".
    """
    parts: list[str] = []
    env = problems.environment if problems else ()
    if hung:
        parts.append("stopped responding")
    elif errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    elif blank:
        parts.append("blank")
    else:
        parts.append("renders")
    if "webgl" in env:
        parts.append("no WebGL on this machine")
        return " · ".join(parts)
    if live is not None and not hung:
        if live.alive or live.responds is True:
            parts.append("moves" if live.alive else "moves on input")
        elif problems is not None and problems.still:
            parts.append("never moves")
        else:
            parts.append("static")
        if live.responds is True:
            parts.append("responds")
        elif live.responds is False:
            what = "; ".join(live.tried[:2])
            parts.append(f"no response ({what})" if what else "no response")
        if live.overflow:
            parts.append("scrolls sideways")
        if live.long_tasks:
            parts.append(f"{live.long_tasks} long task{'s' if live.long_tasks != 1 else ''}")
    for kind in env:
        parts.append({"audio": "sound waits for a click", "storage": "storage full"}.get(kind, kind))
    return " · ".join(parts)
