"""``history`` and ``export`` over a library built with the store API; ``--data-dir`` and the env var."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from studio.cli import build_parser, main
from studio.core.attachments import attachment_from_bytes
from studio.store.library import Library
from studio.store.paths import ENV_DATA_DIR

PAGE = "<!DOCTYPE html><html><head><title>Chart</title></head><body><p>v{n}</p></body></html>"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A library with one finished chat (3 versions, a CSV attachment) and one interrupted chat."""
    root = tmp_path / "lib"
    with Library.at(root) as lib:
        cid = lib.create_conversation(conversation_id="aaaa1111")
        csv = attachment_from_bytes("sales.csv", b"month,total\njan,3\n")
        lib.add_message(cid, "user", "Chart my sales", attachments=[csv])
        ans = lib.add_message(cid, "assistant", "```html\n...```")
        lib.add_version(cid, kind="html", title="Chart", source=PAGE.format(n=1), message_id=ans.id)
        lib.add_version(cid, kind="html", title="Chart", source=PAGE.format(n=2), origin="edit", based_on=1)
        lib.restore_version(cid, 1)
        other = lib.create_conversation(conversation_id="bbbb2222")
        lib.add_message(other, "user", "A clock")
        msg = lib.add_message(other, "assistant", "Here is a clo", state="streaming")
        lib.conn.execute("UPDATE messages SET writer = 'gone-host:1' WHERE id = ?", (msg.id,))
    return root


def test_history_json_lists_conversations_with_flags(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(data_dir), "history", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {"aaaa1111", "bbbb2222"}
    assert (
        by_id["aaaa1111"]["messages"],
        by_id["aaaa1111"]["artifacts"],
        by_id["aaaa1111"]["interrupted"],
    ) == (
        2,
        3,
        False,
    )
    assert by_id["bbbb2222"]["interrupted"] is True and by_id["bbbb2222"]["title"] == "A clock"
    assert {"id", "title", "updated", "messages", "artifacts", "interrupted"} <= set(rows[0])


def test_history_table_and_one_conversation(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "A clock  [interrupted]" in out and "Chart my sales" in out
    assert main(["history", "bbbb", "--json", "--data-dir", str(data_dir)]) == 0
    conv = json.loads(capsys.readouterr().out)
    assert [m["role"] for m in conv["messages"]] == ["user", "assistant"]
    assert conv["messages"][1]["state"] == "interrupted" and conv["messages"][1]["content"] == "Here is a clo"
    assert main(["history", "zzz", "--data-dir", str(data_dir)]) == 2


def test_export_current_and_numbered_versions_with_data(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.html"
    assert main(["--data-dir", str(data_dir), "export", "--conversation", "aaaa", "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<p>v1</p>" in page  # v3 restored v1
    assert base64.b64encode(b"month,total\njan,3\n").decode() in page and "sales.csv" in page
    assert (
        main(
            [
                "--data-dir",
                str(data_dir),
                "export",
                "--conversation",
                "aaaa1111",
                "--version",
                "2",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert "<p>v2</p>" in out.read_text(encoding="utf-8")


def test_export_errors(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "o.html")
    assert main(["--data-dir", str(data_dir), "export", "--conversation", "nope", "-o", out]) == 2
    assert (
        main(["--data-dir", str(data_dir), "export", "--conversation", "aaaa", "--version", "7", "-o", out])
        == 2
    )
    assert "no version 7" in capsys.readouterr().err
    assert main(["--data-dir", str(data_dir), "export", "--conversation", "bbbb", "-o", out]) == 3
    assert main(["--data-dir", str(data_dir), "export", "--conversation", "aaaa", "-o", str(tmp_path)]) == 2


def test_env_var_and_corrupt_library_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lib_dir = tmp_path / "envlib"
    lib_dir.mkdir()
    (lib_dir / "library.db").write_bytes(b"this is not sqlite" * 100)
    monkeypatch.setenv(ENV_DATA_DIR, str(lib_dir))
    assert main(["history", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert "could not be read" in captured.err and "moved to" in captured.err
    assert len(list(lib_dir.glob("library.db.corrupt-*"))) == 1


def test_parser_keeps_gui_default_and_global_data_dir() -> None:
    args = build_parser().parse_args(["--data-dir", "/x", "history"])
    assert (args.command, args.data_dir) == ("history", "/x")
    args = build_parser().parse_args(["generate", "--prompt", "p", "--save", "--data-dir", "/y"])
    assert args.save and args.data_dir == "/y" and args.model is None


def test_generate_saver_streams_turns_and_stores_the_artifact(tmp_path: Path) -> None:
    from studio.cli.library import GenerateSaver

    saver = GenerateSaver(str(tmp_path / "lib"))
    saver.begin_turn("Show a chart", [attachment_from_bytes("d.csv", b"a,b\n1,2\n")])
    answer = "Sure:\n```html\n" + PAGE.format(n=1) + "\n```\n"
    for piece in (answer[:10], answer[10:]):
        saver.append(piece)
    saver.end_turn(answer, "stop", None, {"generated_tokens": 12})
    saver.begin_turn("no page this time")
    saver.append("just words")
    saver.end_turn("just words", "length")
    saver.close()
    with Library.at(tmp_path / "lib") as lib:
        conv = lib.load(saver.conversation_id or "")
        assert [(m.role, m.state) for m in conv.path()] == [("user", "done"), ("assistant", "done")] * 2
        assert conv.path()[1].content == answer and conv.path()[1].stats == {"generated_tokens": 12}
        assert conv.path()[0].attachments[0].name == "d.csv"
        versions = lib.versions(conv.id)
        assert [(v.number, v.origin, v.message_id) for v in versions] == [(1, "model", conv.path()[1].id)]
        assert "<p>v1</p>" in versions[0].source


def test_a_leading_data_dir_still_defaults_to_the_window() -> None:
    from studio.cli import _command_index

    assert _command_index(["--data-dir", "x", "history"]) == 2
    assert _command_index(["--data-dir=x", "gui"]) == 1
    assert _command_index(["--model", "m"]) == 0
    args = build_parser().parse_args(["--data-dir", "/lib", "gui", "--model", "m"])
    assert (args.command, args.data_dir, args.model) == ("gui", "/lib", "m")


def test_generate_takes_the_model_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from studio.store.paths import ENV_CONFIG_DIR
    from studio.store.settings import Settings, save_settings

    monkeypatch.setenv(ENV_CONFIG_DIR, str(tmp_path / "cfg"))
    assert main(["generate", "--prompt", "x"]) == 2
    assert "no model" in capsys.readouterr().err
    save_settings(Settings(model=str(tmp_path / "stored-model"), temperature=0.0))
    assert main(["generate", "--prompt", "x"]) == 2
    assert "stored-model" in capsys.readouterr().err  # the stored model was the one tried
    save_settings(Settings(engine="nonesuch"))
    assert main(["generate", "--model", "m", "--prompt", "x"]) == 2
    assert "unknown engine 'nonesuch'" in capsys.readouterr().err
    assert main(["generate", "--model", str(tmp_path / "m"), "--engine", "mlx", "--prompt", "x"]) == 2
    assert "unknown engine" not in capsys.readouterr().err  # the flag beats the setting


def test_a_failing_library_write_stops_saving_not_generating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    from studio.cli.library import GenerateSaver

    saver = GenerateSaver(str(tmp_path / "lib"))
    conn = sqlite3.connect(str(tmp_path / "lib" / "library.db"))
    conn.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
    )
    conn.commit()
    conn.close()
    saver.begin_turn("hello")
    saver.append("text")
    saver.end_turn("text", "stop")
    saver.begin_turn("again")
    saver.close()
    err = capsys.readouterr().err
    assert saver.failed and err.count("cannot save to the library (disk says no)") == 1
