"""The headless front door: ``artifacts-studio extract`` and argument handling (no model needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from studio.cli import build_parser, main

DOC = "<!DOCTYPE html>\n<html><head><title>Joke</title></head><body><p>中文 😀 שלום</p></body></html>"


def run_cli(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        cwd=cwd,
    )


def test_version_and_help() -> None:
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("artifacts-studio ")
    helptext = run_cli("--help").stdout
    for command in ("generate", "extract", "check"):
        assert command in helptext


def test_no_command_means_gui() -> None:
    args = build_parser().parse_args(["gui", "--model", "m"])
    assert (args.command, args.model, args.engine) == ("gui", "m", "auto")


def test_extract_writes_the_page_and_keeps_utf8(tmp_path: Path) -> None:
    answer = tmp_path / "a.md"
    answer.write_text(f"Here you go:\n\n```html\n{DOC}\n```\n\nEnjoy!", encoding="utf-8")
    out = tmp_path / "page.html"
    res = run_cli("extract", str(answer), "-o", str(out))
    assert res.returncode == 0, res.stderr
    page = out.read_text(encoding="utf-8")
    assert "<p>中文 😀 שלום</p>" in page and "Enjoy!" not in page


def test_extract_json_describes_the_artifact(tmp_path: Path) -> None:
    answer = tmp_path / "a.md"
    answer.write_text(f"```html\n{DOC}\n```", encoding="utf-8")
    res = run_cli("extract", str(answer), "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["kind"] == "html" and info["title"] == "Joke" and info["truncated"] is False
    assert len(info["blocks"]) == 1


def test_extract_html_to_stdout_from_stdin() -> None:
    res = run_cli("extract", "-", stdin=DOC)
    assert res.returncode == 0
    assert "<title>Joke</title>" in res.stdout


def test_extract_truncated_answer_warns_and_still_writes(tmp_path: Path) -> None:
    answer = tmp_path / "cut.md"
    answer.write_text("```html\n<!DOCTYPE html><html><body><script>let x = 1;\n", encoding="utf-8")
    out = tmp_path / "o.html"
    res = run_cli("extract", str(answer), "-o", str(out))
    assert res.returncode == 0
    assert "cut off" in res.stderr
    assert "let x = 1;" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "text",
    ["", "I can't help with that.", "```python\nprint('hello')\n```\n"],
    ids=["empty", "refusal", "python"],
)
def test_extract_without_artifact_exits_3_with_one_line(tmp_path: Path, text: str) -> None:
    answer = tmp_path / "a.md"
    answer.write_text(text, encoding="utf-8")
    res = run_cli("extract", str(answer))
    assert res.returncode == 3
    assert res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 1 and "no artifact" in res.stderr


def test_extract_bad_input_exits_2(tmp_path: Path) -> None:
    assert run_cli("extract", str(tmp_path / "missing.md")).returncode == 2
    binary = tmp_path / "b.md"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    res = run_cli("extract", str(binary))
    assert res.returncode == 2 and "not UTF-8" in res.stderr
    assert run_cli("extract", str(tmp_path)).returncode == 2


def test_generate_rejects_bad_input_before_loading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "no-model")
    assert (
        main(["generate", "--model", missing, "--prompt", "x", "--attach", str(tmp_path / "nope.csv")]) == 2
    )
    assert "nope.csv: no such file" in capsys.readouterr().err
    assert main(["generate", "--model", missing, "--prompt", "x", "--temperature", "-1"]) == 2
    assert "temperature" in capsys.readouterr().err
    assert main(["generate", "--model", missing, "--prompt", "x", "--engine", "nonesuch"]) == 2
    assert "unknown engine 'nonesuch'" in capsys.readouterr().err
    assert main(["generate", "--model", missing, "--prompt", "  "]) == 2


def test_auto_engine_follows_the_model_format(tmp_path: Path) -> None:
    from studio.models.registry import resolve

    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "model.safetensors").write_bytes(b"")
    assert resolve("auto", str(hf)) == "mlx"
    assert resolve("mlx", str(tmp_path / "x.gguf")) == "mlx"  # an explicit choice stays
    assert resolve("auto", str(tmp_path / "x.gguf")) in ("llamacpp", "mlx")  # llamacpp when installed


def test_speculative_decoding_flags_win_over_the_settings() -> None:
    from studio.app import flag_overrides
    from studio.cli.common import engine_options
    from studio.store.settings import Settings

    stored = Settings(prompt_lookup=True, draft_model="/models/stored-draft")
    plain = build_parser().parse_args(["generate", "--prompt", "a snake game"])
    assert engine_options(plain, stored)["prompt_lookup"] is True  # no flag: the settings'
    assert engine_options(plain, stored)["draft_model"] == "/models/stored-draft"
    assert flag_overrides(build_parser().parse_args(["gui"])) == {}
    flags = ["--no-prompt-lookup", "--draft-model", "/models/small"]
    opts = engine_options(build_parser().parse_args(["generate", "--prompt", "x", *flags]), stored)
    assert (opts["prompt_lookup"], opts["draft_model"]) == (False, "/models/small")
    gui = build_parser().parse_args(["gui", *flags])
    assert flag_overrides(gui) == {"prompt_lookup": False, "draft_model": "/models/small"}


def test_files_given_to_the_window_are_kept_for_it() -> None:
    args = build_parser().parse_args(["gui", "art.html", "data.csv"])
    assert args.files == ["art.html", "data.csv"]


def test_log_level_sets_the_studio_loggers(tmp_path: Path) -> None:
    import logging

    studio_log = logging.getLogger("studio")
    before = studio_log.level
    try:
        assert main(["--log-level", "debug", "extract", str(tmp_path / "missing.md")]) == 2
        assert studio_log.level == logging.DEBUG
        assert logging.getLogger("studio.cli.extract").isEnabledFor(logging.DEBUG)
    finally:
        studio_log.setLevel(before)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--log-level", "loud", "extract", "x"])
