"""``artifacts-studio open ID``: a bad id is one line on stderr (exit 2), before any window or web engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from studio.cli import build_parser
from studio.store.library import Library

PROBE = (
    "import sys\nfrom studio.cli import main\nrc = main(sys.argv[1:])\n"
    "print('qt' if 'PySide6.QtWebEngineCore' in sys.modules else 'no qt')\nsys.exit(rc)\n"
)


def run_open(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, encoding="utf-8", timeout=120
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    with Library.at(tmp_path) as lib:
        for cid in ("abc111", "abc222"):
            lib.create_conversation("t", conversation_id=cid)
            lib.add_version(cid, kind="html", title="T", source="<p>t</p>")
        lib.create_conversation("empty", conversation_id="nothing")
    return tmp_path


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("zzz", "artifacts-studio: no artifact 'zzz'"),
        ("abc", "artifacts-studio: 'abc' matches several artifacts"),
        ("nothing", "artifacts-studio: no artifact 'nothing'"),  # a chat without an artifact
    ],
)
def test_a_bad_id_is_one_line_and_starts_no_window(data_dir: Path, given: str, says: str) -> None:
    out = run_open("--data-dir", str(data_dir), "open", given)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [says]
    assert out.stdout.strip() == "no qt"


def test_an_unusable_library_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "library.db").mkdir()  # a folder where the file should be
    out = run_open("--data-dir", str(tmp_path), "open", "abc")
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1, out.stderr


def test_open_parses_its_id_and_the_data_dir() -> None:
    args = build_parser().parse_args(["open", "abc111", "--data-dir", "/d"])
    assert (args.command, args.artifact, args.data_dir) == ("open", "abc111", "/d")
