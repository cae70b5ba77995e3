""" "Save as App": a launcher that opens one artifact in a window of its own (no Qt).

On Linux a ``.desktop`` entry in ``~/.local/share/applications`` (it shows in the desktop's app menu);
on macOS a minimal ``.app`` bundle in ``~/Applications`` whose executable is a shell script. Both run
``artifacts-studio [--data-dir DIR] open ID``.
"""

from __future__ import annotations

import os
import plistlib
import re
import shlex
import shutil
import sys
from pathlib import Path

PROGRAM = "artifacts-studio"
_PLAIN_ARG = re.compile(r"[A-Za-z0-9_./:@=+,-]+")


def launch_command(
    artifact_id: str, *, data_dir: str | os.PathLike[str] | None = None, program: str | None = None
) -> list[str]:
    """The command line a launcher runs: the installed ``artifacts-studio`` (absolute where found)."""
    exe = program or shutil.which(PROGRAM) or PROGRAM
    argv = [exe]
    if data_dir is not None:
        argv += ["--data-dir", str(Path(data_dir).expanduser().resolve())]
    return [*argv, "open", artifact_id]


def _clean_title(title: str) -> str:
    text = " ".join("".join(c if c.isprintable() else " " for c in title).split())
    return text or "Artifact"


def _slug(artifact_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", artifact_id).strip("-")[:64] or "artifact"


def _desktop_arg(arg: str) -> str:
    """One Exec argument, quoted and escaped per the Desktop Entry spec (quoting, then string escapes)."""
    if _PLAIN_ARG.fullmatch(arg):
        quoted = arg
    else:
        inner = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        quoted = f'"{inner}"'
    return quoted.replace("\\", "\\\\").replace("%", "%%")


def desktop_entry(title: str, argv: list[str], *, icon: str = PROGRAM) -> str:
    """The text of a ``.desktop`` entry that runs ``argv``."""
    name = _clean_title(title).replace("\\", "\\\\")
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Version=1.4\n"
        f"Name={name}\n"
        "Comment=An artifact made in Artifacts Studio\n"
        f"Exec={' '.join(_desktop_arg(a) for a in argv)}\n"
        f"Icon={icon}\n"
        "Terminal=false\n"
        "Categories=Utility;\n"
    )


def write_desktop_entry(
    artifact_id: str,
    title: str,
    directory: Path,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    program: str | None = None,
) -> Path:
    """Write ``artifacts-studio-<id>.desktop`` (replacing an earlier one); returns its path. Raises OSError."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{PROGRAM}-{_slug(artifact_id)}.desktop"
    text = desktop_entry(title, launch_command(artifact_id, data_dir=data_dir, program=program))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o755)  # some desktops only trust executable entries
    os.replace(tmp, path)
    return path


def info_plist(title: str, artifact_id: str, executable: str) -> bytes:
    """The ``Info.plist`` of an app stub."""
    return plistlib.dumps(
        {
            "CFBundleName": _clean_title(title)[:64],
            "CFBundleDisplayName": _clean_title(title),
            "CFBundleExecutable": executable,
            "CFBundleIdentifier": f"org.artifacts-studio.app.{_slug(artifact_id)}",
            "CFBundlePackageType": "APPL",
            "CFBundleInfoDictionaryVersion": "6.0",
            "CFBundleShortVersionString": "1.0",
            "LSUIElement": False,
        }
    )


def write_macos_app(
    artifact_id: str,
    title: str,
    directory: Path,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    program: str | None = None,
) -> Path:
    """Write ``<title>.app`` (a bundle whose executable runs the open command); returns its path. Raises OSError."""
    name = re.sub(r"[/:]+", "-", _clean_title(title))[:80].strip(". ") or "Artifact"
    app = directory / f"{name}.app"
    macos = app / "Contents" / "MacOS"
    macos.mkdir(parents=True, exist_ok=True)
    script = macos / "launch"
    argv = launch_command(artifact_id, data_dir=data_dir, program=program)
    script.write_text(f'#!/bin/sh\nexec {shlex.join(argv)} "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    (app / "Contents" / "Info.plist").write_bytes(info_plist(title, artifact_id, script.name))
    return app


def write_launcher(
    artifact_id: str,
    title: str,
    directory: Path,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    platform: str | None = None,
) -> Path:
    """The platform's launcher in ``directory`` (``store.paths.launcher_dir()``): an app stub on macOS,
    a ``.desktop`` entry elsewhere. Raises OSError."""
    if (platform or sys.platform) == "darwin":
        return write_macos_app(artifact_id, title, directory, data_dir=data_dir)
    return write_desktop_entry(artifact_id, title, directory, data_dir=data_dir)


__all__ = ["desktop_entry", "launch_command", "write_desktop_entry", "write_launcher", "write_macos_app"]
