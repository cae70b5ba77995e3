"""Liveness verdicts, environment errors and the fix prompt's new parts (Qt-free)."""

from __future__ import annotations

import pytest

from studio.core.checks import Liveness, environment_issue, expects_motion, live_problems, pane_line
from studio.core.fixprompt import FixLoop, fix_prompt, verdict_from

GAME = "<canvas></canvas><script>function loop(){ draw(); requestAnimationFrame(loop); } loop();</script>"


def _err(message: str) -> dict:
    return {"level": "error", "message": message, "line": 3, "source": ""}


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Uncaught Error: Error creating WebGL context.", "webgl"),
        ("THREE.WebGLRenderer: Error creating WebGL context.", "webgl"),
        (
            "The AudioContext was not allowed to start. It must be resumed (or created) after a user gesture",
            "audio",
        ),
        ("Uncaught (in promise) NotAllowedError: play() failed because the user didn't interact", "audio"),
        (
            "Uncaught QuotaExceededError: Failed to execute 'setItem' on 'Storage': exceeded the quota.",
            "storage",
        ),
        ("Uncaught ReferenceError: nope is not defined", None),
        ("Uncaught TypeError: Cannot read properties of null (reading 'getContext')", None),
    ],
)
def test_environment_issue(message, kind) -> None:
    assert environment_issue(message) == kind


def test_expects_motion_from_the_code_or_the_request() -> None:
    assert expects_motion(GAME)
    assert expects_motion("<style>@keyframes spin{}</style>")
    assert expects_motion("<h1>hi</h1>", "make a snake game")
    assert not expects_motion("<h1>hi</h1>", "a page about my cat")


def test_a_game_that_never_moves_is_still_and_names_what_was_tried() -> None:
    live = Liveness(alive=False, responds=False, tried=("pressed ArrowLeft, Space: nothing changed",))
    problems = live_problems(live, [], source=GAME)
    assert problems.still and not problems.dead and problems.count == 1
    moving = live_problems(Liveness(alive=True, responds=None), [], source=GAME)
    assert moving.count == 0
    # a static page that is not meant to move is fine
    assert live_problems(Liveness(alive=False, responds=None), [], source="<h1>hi</h1>").count == 0


def test_a_dead_control_is_a_failing_check_with_its_own_fix_prompt() -> None:
    tried = ("clicked 'Add one': nothing changed",)
    live = live_problems(Liveness(alive=False, responds=False, tried=tried), [], source="<button>")
    verdict = verdict_from([], live=live)
    assert verdict.dead and not verdict.ok and verdict.problems == 1
    assert verdict.summary() == "controls do nothing"
    prompt = fix_prompt(verdict, "<button>Add one</button>")
    assert "clicked 'Add one': nothing changed" in prompt
    assert "JavaScript error" not in prompt
    assert FixLoop(1).decide(verdict) == "auto"


def test_environment_errors_never_reach_the_model() -> None:
    entries = [_err("Uncaught Error: Error creating WebGL context."), _err("Cannot read properties of null")]
    verdict = verdict_from(entries, blank=True)
    assert verdict.ok and verdict.errors == () and len(verdict.env_errors) == 2
    assert verdict.environment == ("webgl",)
    assert "WebGL" in verdict.environment_notice() and "\n" not in verdict.environment_notice()
    assert FixLoop(3).decide(verdict) == "pass"
    # the same error without the environment explaining it is the model's
    code = verdict_from([_err("Cannot read properties of null")])
    assert len(code.errors) == 1 and "Cannot read" in fix_prompt(code, "x")


def test_webgl_missing_is_seen_by_the_probe_too() -> None:
    problems = live_problems(
        Liveness(alive=False, responds=None, webgl=False), [], source=GAME + "getContext('webgl')"
    )
    assert problems.environment == ("webgl",) and problems.count == 0


def test_audio_blocked_is_an_environment_warning_not_a_problem() -> None:
    entries = [{"level": "warning", "message": "The AudioContext was not allowed to start.", "line": 0}]
    verdict = verdict_from(entries, live=live_problems(Liveness(alive=True), entries))
    assert verdict.ok and verdict.environment == ("audio",)
    assert "click" in verdict.environment_notice()


def test_pane_line() -> None:
    good = Liveness(alive=True, responds=True, overflow=False, fps=60, long_tasks=0)
    assert pane_line(errors=0, blank=False, hung=False, live=good) == "renders · moves · responds"
    dead = Liveness(alive=False, responds=False, tried=("clicked 'Add one': nothing changed",))
    line = pane_line(errors=0, blank=False, hung=False, live=dead, problems=live_problems(dead, []))
    assert line == "renders · static · no response (clicked 'Add one': nothing changed)"
    still = live_problems(Liveness(alive=False, responds=None), [], source=GAME)
    assert "never moves" in pane_line(
        errors=0, blank=False, hung=False, live=Liveness(alive=False), problems=still
    )
    env = live_problems(None, [_err("Error creating WebGL context.")])
    assert (
        pane_line(errors=0, blank=True, hung=False, live=None, problems=env)
        == "blank · no WebGL on this machine"
    )
