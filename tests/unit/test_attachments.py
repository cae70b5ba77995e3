"""Dropped and --attach'ed files: accepted, summarized or refused with one clear line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from studio.core import attachments as att
from studio.core.attachments import AttachmentError, compose_user_message, load_attachment


def test_code_file_goes_into_the_prompt_with_its_name(tmp_path: Path) -> None:
    f = tmp_path / "game.js"
    f.write_text("const speed = 3;\n// 中文 ✓ שלום\n", encoding="utf-8")
    a = load_attachment(f)
    assert (a.name, a.kind, a.size) == ("game.js", "text", f.stat().st_size)
    assert "File `game.js`" in a.prompt_text
    assert "// 中文 ✓ שלום" in a.prompt_text  # UTF-8 survives


def test_csv_is_summarized_with_head_and_row_count_and_keeps_all_bytes(tmp_path: Path) -> None:
    rows = ["month,sales"] + [f"m{i},{i * 10}" for i in range(1000)]
    f = tmp_path / "sales data.csv"
    f.write_text("\n".join(rows), encoding="utf-8")
    a = load_attachment(f)
    assert a.kind == "table" and a.mime == "text/csv"
    assert a.name == "sales_data.csv"
    assert "1000 data rows, 2 columns (month, sales)" in a.prompt_text
    assert 'fetch("data/sales_data.csv")' in a.prompt_text
    assert "m19,190" in a.prompt_text and "m20,200" not in a.prompt_text
    assert a.data == f.read_bytes()


def test_tsv_uses_tabs(tmp_path: Path) -> None:
    f = tmp_path / "t.tsv"
    f.write_text("a\tb\tc\n1\t2\t3\n", encoding="utf-8")
    a = load_attachment(f)
    assert "1 data rows, 3 columns (a, b, c)" in a.prompt_text


def test_json_is_described_and_invalid_json_refused(tmp_path: Path) -> None:
    good = tmp_path / "points.json"
    good.write_text('[{"x": 1}, {"x": 2}]')
    a = load_attachment(good)
    assert a.kind == "json" and "a list of 2 items" in a.prompt_text
    bad = tmp_path / "broken.json"
    bad.write_text('{"x": 1,,}')
    with pytest.raises(AttachmentError, match=r"broken.json: not valid JSON \(line 1"):
        load_attachment(bad)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("blob.bin", b"\x00\x01\x02\x03" * 100, "looks like a binary file"),
        ("empty.txt", b"", "the file is empty"),
        ("program.exe", bytes(range(256)) * 4, "binary"),
    ],
)
def test_binary_and_empty_files_are_refused(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(AttachmentError, match=message) as info:
        load_attachment(f)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(name)


def test_missing_folder_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError, match="nope.txt: no such file"):
        load_attachment(tmp_path / "nope.txt")
    with pytest.raises(AttachmentError, match="is a folder"):
        load_attachment(tmp_path)
    locked = tmp_path / "locked.txt"
    locked.write_text("secret")
    locked.chmod(0)
    if os.access(locked, os.R_OK):  # root reads anything
        pytest.skip("running as root: permission bits do not stop reads")
    with pytest.raises(AttachmentError, match="permission denied"):
        load_attachment(locked)


def test_too_large_files_are_refused_before_reading(tmp_path: Path) -> None:
    f = tmp_path / "huge.csv"
    with f.open("wb") as fh:
        fh.truncate(att.MAX_FILE_BYTES + 1)  # sparse: nothing is actually written
    with pytest.raises(AttachmentError, match=r"huge.csv: 20.0 MB is too large"):
        load_attachment(f)


def test_text_too_long_for_the_context_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "novel.txt"
    f.write_text("word " * (att.MAX_PROMPT_CHARS // 4))
    with pytest.raises(AttachmentError, match="too long for the model's context"):
        load_attachment(f)


def test_images_are_data_for_the_artifact(tmp_path: Path) -> None:
    png = tmp_path / "logo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    a = load_attachment(png)
    assert (a.kind, a.mime) == ("image", "image/png")
    assert 'src="data/logo.png"' in a.prompt_text
    fake = tmp_path / "fake.jpg"
    fake.write_text("not an image")
    with pytest.raises(AttachmentError, match="not a valid image"):
        load_attachment(fake)


def test_latin1_text_is_decoded_not_refused(tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_bytes("café au lait".encode("cp1252"))
    assert "café au lait" in load_attachment(f).prompt_text


def test_compose_puts_files_before_the_request(tmp_path: Path) -> None:
    f = tmp_path / "a.py"
    f.write_text("print(1)")
    a = load_attachment(f)
    msg = compose_user_message("chart it", [a])
    assert msg.index("File `a.py`") < msg.index("chart it")
    assert compose_user_message("plain") == "plain"


def test_human_size() -> None:
    assert att.human_size(512) == "512 B"
    assert att.human_size(1536) == "1.5 KB"
    assert att.human_size(3 * 1024 * 1024) == "3.0 MB"
