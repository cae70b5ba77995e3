"""The headless checker: exit codes, line numbers, blank and hung pages, bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtGui import QImage

from studio.cli.check import check_main
from studio.core.export import export_html
from studio.web.checker import check_file


def _args(path: Path, **kw) -> SimpleNamespace:
    return SimpleNamespace(
        file=str(path),
        screenshot=kw.get("screenshot"),
        wait_ms=kw.get("wait_ms", 300),
        json=kw.get("json", False),
    )


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_page_exits_0_with_a_screenshot(qapp, tmp_path, capsys) -> None:
    page = _write(
        tmp_path, "good.html", "<h1 style='color:#c00'>Hello</h1><script>console.log('hi')</script>"
    )
    shot = tmp_path / "shot.png"
    assert check_main(_args(page, screenshot=str(shot), json=True)) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["loaded"] and report["errors"] == 0 and not report["blank"] and not report["hung"]
    assert report["console"][0]["message"] == "hi"
    image = QImage(str(shot))
    assert image.width() > 100 and image.height() > 100


def test_js_error_exits_1_with_the_line_number(qapp, tmp_path, capsys) -> None:
    page = _write(tmp_path, "err.html", "<h1>x</h1>\n<script>\nconst a = 1;\nnotDefined();\n</script>")
    assert check_main(_args(page)) == 1
    out = capsys.readouterr().out
    assert "errors: 1" in out and "(line 4)" in out and "notDefined" in out


def test_blank_page_is_reported(qapp, tmp_path) -> None:
    page = _write(tmp_path, "blank.html", "<body style='background:#123456'><div></div></body>")
    report = check_file(page, wait_ms=200)
    assert report["loaded"] and report["errors"] == 0
    assert report["blank"] is True
    drawn = check_file(
        _write(
            tmp_path,
            "drawn.html",
            "<canvas id=c width=50 height=50></canvas><script>"
            "document.getElementById('c').getContext('2d').fillRect(0,0,20,20)</script>",
        ),
        wait_ms=200,
    )
    assert drawn["blank"] is False


@pytest.mark.parametrize("when", ["after-load", "before-load"])
def test_infinite_loop_is_hung_and_returns_in_time(qapp, tmp_path, when) -> None:
    script = "setTimeout(() => { while (true) {} }, 100)" if when == "after-load" else "while (true) {}"
    page = _write(tmp_path, "hang.html", f"<h1>spin</h1><script>{script}</script>")
    wait_ms = 500
    started = time.monotonic()
    code = check_main(_args(page, wait_ms=wait_ms))
    assert time.monotonic() - started < wait_ms / 1000 + 10
    assert code == 1
    report = check_file(page, wait_ms=wait_ms)
    assert report["hung"] is True


def test_blocked_requests_are_listed(qapp, tmp_path) -> None:
    page = _write(tmp_path, "cdn.html", "<h1>x</h1><script src='https://cdn.example.com/lib.js'></script>")
    report = check_file(page, wait_ms=200)
    assert report["blocked_requests"] == ["https://cdn.example.com/lib.js"]


def test_exported_page_reads_its_data_offline(qapp, tmp_path) -> None:
    """export_html's fetch shim serves the embedded data with no server at all."""
    html = (
        "<!doctype html><html><head></head><body><h1>data</h1><script>"
        "fetch('data/x.csv').then(r => r.text()).then(t => console.log('csv=' + JSON.stringify(t)))"
        ".catch(e => console.error('fetch failed ' + e));</script></body></html>"
    )
    page = _write(tmp_path, "export.html", export_html(html, {"x.csv": ("text/csv", "a,b\n1,é\n".encode())}))
    report = check_file(page, wait_ms=300)
    assert [c["message"] for c in report["console"]] == ['csv="a,b\\n1,é\\n"']


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("missing.html", None, "no such file"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        ("notes.txt", b"just words, no markup", "not HTML"),
        ("latin.html", "<p>caf\xe9</p>".encode("latin-1"), "UTF-8"),
    ],
)
def test_bad_input_exits_2_with_one_line(qapp, tmp_path, capsys, name, content, why) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert check_main(_args(path)) == 2
    err = capsys.readouterr().err
    assert why in err and err.count("\n") == 1


def test_a_directory_is_bad_input(qapp, tmp_path, capsys) -> None:
    assert check_main(_args(tmp_path)) == 2
    assert "not a file" in capsys.readouterr().err
