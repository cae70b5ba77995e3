"""Startup failures go to the per-user log file and a short message, never a traceback."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio import startuplog
from studio.store import paths

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def logdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "logs"
    monkeypatch.setenv(paths.ENV_LOG_DIR, str(d))
    monkeypatch.delenv(startuplog.FAIL_ENV, raising=False)
    return d


def test_log_dir_is_the_platformdirs_user_log_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import platformdirs

    monkeypatch.delenv(paths.ENV_LOG_DIR, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    expected = Path(platformdirs.user_log_dir("artifacts-studio", appauthor=False))
    assert paths.log_dir() == expected
    if sys.platform.startswith("linux"):
        assert paths.log_dir().is_relative_to(tmp_path / "state")


def test_a_failure_is_logged_with_its_traceback_and_shown_with_the_path(logdir: Path) -> None:
    shown: list[str] = []

    def broken() -> int:
        raise ValueError("the web profile could not be built")

    rc = startuplog.run_guarded(broken, show=lambda m: shown.append(m) or "test")
    assert rc == startuplog.EXIT_STARTUP_FAILED
    log_file = logdir / startuplog.LOG_NAME
    text = log_file.read_text()
    assert "Traceback (most recent call last)" in text
    assert "ValueError: the web profile could not be built" in text
    assert "in broken" in text
    (message,) = shown
    assert "could not start: the web profile could not be built" in message
    assert str(log_file) in message
    assert "Traceback" not in message


def test_success_passes_the_status_through_and_logs_nothing(logdir: Path) -> None:
    assert startuplog.run_guarded(lambda: 3, show=lambda m: pytest.fail(m)) == 3
    assert not (logdir / startuplog.LOG_NAME).exists()


def test_warnings_during_the_run_reach_the_file_and_the_handler_is_removed(logdir: Path) -> None:
    studio_log = logging.getLogger("studio")
    before = list(studio_log.handlers)

    def warn() -> int:
        logging.getLogger("studio.engine").warning("model folder has no tokenizer")
        return 0

    assert startuplog.run_guarded(warn) == 0
    assert (
        "WARNING studio.engine: model folder has no tokenizer" in (logdir / startuplog.LOG_NAME).read_text()
    )
    assert studio_log.handlers == before


def test_system_exit_is_not_swallowed(logdir: Path) -> None:
    def leave() -> int:
        raise SystemExit(2)

    with pytest.raises(SystemExit):
        startuplog.run_guarded(leave, show=lambda m: pytest.fail(m))


def test_the_hook_fails_only_at_its_stage(logdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(startuplog.FAIL_ENV, "window")
    startuplog.maybe_fail("start")
    with pytest.raises(startuplog.ForcedStartupFailure, match="'window'"):
        startuplog.maybe_fail("window")


def test_an_unwritable_log_dir_still_shows_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(paths.ENV_LOG_DIR, str(blocker / "logs"))  # a folder under a file
    shown: list[str] = []
    rc = startuplog.run_guarded(lambda: 1 // 0, show=lambda m: shown.append(m) or "test")
    assert rc == startuplog.EXIT_STARTUP_FAILED
    assert "could not be written" in shown[0]


def test_the_app_without_a_display_prints_the_message_not_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env[paths.ENV_LOG_DIR] = str(tmp_path / "logs")
    env[startuplog.FAIL_ENV] = "start"
    out = subprocess.run(
        [sys.executable, "-m", "studio"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == startuplog.EXIT_STARTUP_FAILED
    assert "Artifacts Studio could not start: forced startup failure" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    log_file = tmp_path / "logs" / startuplog.LOG_NAME
    assert str(log_file) in out.stderr
    assert "ForcedStartupFailure" in log_file.read_text()
