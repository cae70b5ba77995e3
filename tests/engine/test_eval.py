"""``artifacts-studio eval`` on the tiny real model (random weights: it writes no artifact)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio import cli
from studio.cli.evaluate import default_prompts_path, load_prompts


def _prompts(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.json"
    path.write_text(
        json.dumps(
            {
                "prompts": [
                    {"id": "snake", "category": "game", "prompt": "Make a snake game."},
                    {"id": "chart", "category": "chart", "prompt": "Draw a bar chart with Chart.js."},
                ]
            }
        )
    )
    return path


def test_eval_table_says_no_artifact(tiny_model_path: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    argv = ["eval", str(_prompts(tmp_path)), "--model", str(tiny_model_path), "--engine", "mlx"]
    code = cli.main([*argv, "--max-tokens", "6", "--temperature", "0"])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith(f"model {tiny_model_path.name} (mlx), 2 prompts, max 6 tokens")
    assert lines[1].split() == [
        "prompt", "render", "fixes", "moves", "responds", "overflow", "fps", "long", "ttft", "tok/s",
        "tokens", "chars", "why",
    ]  # fmt: skip
    for line, pid in zip(lines[2:4], ("snake", "chart"), strict=True):
        cells = line.split()
        assert cells[:9] == [pid, "no", "artifact", "-", "-", "-", "-", "-", "-"], line  # no page, no checks
        assert cells[9].endswith("s") and float(cells[9][:-1]) > 0  # time to first token
        assert int(cells[11]) == 6  # tokens
    assert lines[4].startswith(
        "0/2 rendered clean at once, 0/2 after fixes (0 fix turns); 0/2 answers held an artifact"
    )


def test_eval_json(tiny_model_path: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    argv = ["eval", str(_prompts(tmp_path)), "--model", str(tiny_model_path), "--engine", "mlx", "--json"]
    assert cli.main([*argv, "--max-tokens", "5", "--limit", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["prompts"] == 1 and data["summary"]["artifacts"] == 0
    (row,) = data["rows"]
    assert row["id"] == "snake" and row["render_ok"] is False and row["fixes_needed"] is None
    (attempt,) = row["attempts"]
    assert attempt["artifact"] is None and attempt["tokens"] == 5 and attempt["tokens_per_s"] > 0


def test_bad_prompt_set_and_no_model(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.json"
    bad.write_text('{"prompts": []}')
    assert cli.main(["eval", str(bad), "--model", "x"]) == 2
    assert "no prompts" in capsys.readouterr().err
    assert cli.main(["eval", str(_prompts(tmp_path)), "--model", str(tmp_path / "missing")]) == 2


def test_the_shipped_set_has_twenty_varied_prompts() -> None:
    prompts = load_prompts(default_prompts_path())
    assert len(prompts) == 20 and len({p.id for p in prompts}) == 20
    assert {"game", "simulation", "chart", "svg", "form", "3d"} <= {p.category for p in prompts}


@pytest.mark.parametrize("item", ["not json", '{"prompts": [{"id": "x"}]}'])
def test_load_prompts_rejects_bad_files(tmp_path: Path, item: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(item)
    with pytest.raises(ValueError):
        load_prompts(path)


@pytest.mark.real_model
def test_eval_on_the_real_model(real_model, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Two prompts through llama.cpp on SmolLM2, greedy: one artifact renders clean, one answer holds none."""
    pytest.importorskip("llama_cpp", reason="pip install 'artifacts-studio[llamacpp]'")
    path = tmp_path / "prompts.json"
    prompts = [
        {"id": "button", "category": "form", "prompt": "Make a red button in HTML."},
        {"id": "sum", "category": "text", "prompt": "What is 2 + 2?"},
    ]
    path.write_text(json.dumps({"prompts": prompts}))
    argv = ["eval", str(path), "--model", str(real_model.gguf), "--engine", "llamacpp", "--json"]
    assert cli.main([*argv, "--max-tokens", "96", "--temperature", "0", "--fixes", "0"]) == 0
    data = json.loads(capsys.readouterr().out)
    button, total = data["rows"]
    (first,) = button["attempts"]
    assert first["artifact"] == "html" and first["finish_reason"] == "stop"
    assert button["render_ok"] is True and first["why"] is None
    (answer,) = total["attempts"]
    assert answer["artifact"] is None and answer["finish_reason"] == "stop"
    assert answer["why"] == "no renderable artifact in the answer"  # the one-line reason of the row
    assert data["summary"]["render_ok_first"] == 1 and data["summary"]["artifacts"] == 1


def test_failing_rows_say_what_failed_and_why() -> None:
    from studio.cli.evaluate import Attempt, Row, table

    def row(pid: str, **kw: object) -> Row:
        base: dict = {
            "ttft_s": 0.5,
            "tokens_per_s": 10.0,
            "tokens": 64,
            "chars": 200,
            "finish_reason": "stop",
        }
        return Row(pid, "game", [Attempt(**{**base, **kw})])  # type: ignore[arg-type]

    rows = [
        row("ok", artifact="html", ok=True, loaded=True),
        row("err", artifact="html", loaded=True, errors=1, why="1 error: ReferenceError: x is not defined (line 3)"),
        row("none", artifact=None, finish_reason="length", why="no renderable artifact in the answer (cut off at 64 tokens)"),
    ]  # fmt: skip
    lines = table(rows).splitlines()
    assert lines[1].split()[:2] == ["ok", "ok"] and lines[1].endswith("200")
    assert lines[2].split()[:2] == ["err", "FAIL"] and lines[2].endswith(
        "ReferenceError: x is not defined (line 3)"
    )
    assert lines[3].endswith("no renderable artifact in the answer (cut off at 64 tokens)")


def test_the_why_of_a_failed_render_names_the_first_error() -> None:
    from studio.cli.evaluate import _render_why
    from studio.core.fixprompt import verdict_from
    from studio.engine.base import Chunk

    errors = [{"level": "error", "message": "Uncaught ReferenceError:\n x is not defined", "line": 12},
              {"level": "error", "message": "second", "line": 0}]  # fmt: skip
    cut = Chunk(generated_tokens=384, finish_reason="length")
    assert _render_why(verdict_from(errors), Chunk(finish_reason="stop")) == (
        "2 errors: Uncaught ReferenceError: x is not defined (line 12)"
    )
    assert _render_why(verdict_from([], blank=True), cut) == "blank; cut off at 384 tokens"
