"""Save as App: the .desktop entry (checked by desktop-file-validate where installed) and the macOS stub."""

from __future__ import annotations

import configparser
import plistlib
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from studio.core import launcher
from studio.store import paths

HOSTILE = 'Quiz "50%" $HOME `x` \\ end\nsecond line'


def _parse(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return dict(parser["Desktop Entry"])


def _unexec(exec_line: str) -> list[str]:
    """Exec back to argv per the spec: the string escapes first (\\\\ -> \\), then the quoting rules."""
    text = exec_line.replace("\\\\", "\\").replace("%%", "%")
    args: list[str] = []
    cur, quoted, i = "", False, 0
    while i < len(text):
        c = text[i]
        if quoted and c == "\\" and i + 1 < len(text) and text[i + 1] in '"`$\\':
            cur, i = cur + text[i + 1], i + 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == " " and not quoted:
            args.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    assert not quoted
    return [*args, cur]


def test_desktop_entry_is_valid_and_runs_open_with_the_id(tmp_path: Path) -> None:
    data = tmp_path / "my data $dir"
    path = launcher.write_desktop_entry(
        "abc123", HOSTILE, data_dir=data, directory=tmp_path / "apps", program="/opt/bin/artifacts-studio"
    )
    assert path.parent == tmp_path / "apps" and path.name == "artifacts-studio-abc123.desktop"
    entry = _parse(path)
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    assert entry["Name"] == 'Quiz "50%" $HOME `x` \\\\ end second line'  # one line, the backslash escaped
    argv = _unexec(entry["Exec"])
    assert argv == ["/opt/bin/artifacts-studio", "--data-dir", str(data.resolve()), "open", "abc123"]
    validate = shutil.which("desktop-file-validate")
    if validate is None:
        pytest.skip("desktop-file-validate is not installed (the entry parsed)")
    run = subprocess.run([validate, str(path)], capture_output=True, text=True, check=False)
    assert run.returncode == 0 and not run.stdout.strip(), run.stdout + run.stderr


def test_desktop_entry_replaces_the_earlier_one(tmp_path: Path) -> None:
    first = launcher.write_desktop_entry("abc", "One", directory=tmp_path, program="artifacts-studio")
    second = launcher.write_desktop_entry("abc", "Two", directory=tmp_path, program="artifacts-studio")
    assert first == second and _parse(second)["Name"] == "Two"
    assert [p.name for p in tmp_path.iterdir()] == [second.name]


def test_macos_stub_has_a_parsable_plist_and_an_executable_script(tmp_path: Path) -> None:
    app = launcher.write_macos_app(
        "abc123",
        "Solar: system / v2",
        directory=tmp_path,
        data_dir=tmp_path / "d d",
        program="/usr/local/bin/a s",
    )
    assert app.name == "Solar- system - v2.app"
    info = plistlib.loads((app / "Contents" / "Info.plist").read_bytes())
    assert info["CFBundlePackageType"] == "APPL" and info["CFBundleIdentifier"].endswith(".abc123")
    script = app / "Contents" / "MacOS" / info["CFBundleExecutable"]
    assert script.stat().st_mode & 0o111
    line = script.read_text().splitlines()[1]
    assert shlex.split(line) == [
        "exec",
        "/usr/local/bin/a s",
        "--data-dir",
        str((tmp_path / "d d").resolve()),
        "open",
        "abc123",
        "$@",
    ]


def test_write_launcher_picks_the_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    linux, mac = paths.launcher_dir("linux"), paths.launcher_dir("darwin")
    assert linux == tmp_path / "xdg" / "applications" and mac == tmp_path / "home" / "Applications"
    assert launcher.write_launcher("a1", "A", linux, platform="linux").suffix == ".desktop"
    assert launcher.write_launcher("a1", "A", mac, platform="darwin") == mac / "A.app"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert paths.launcher_dir("linux") == tmp_path / "home" / ".local" / "share" / "applications"
