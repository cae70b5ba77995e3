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
    assert lines[1].split() == ["prompt", "render", "fixes", "ttft", "tok/s", "tokens", "chars", "problems"]
    for line, pid in zip(lines[2:4], ("snake", "chart"), strict=True):
        cells = line.split()
        assert cells[:4] == [pid, "no", "artifact", "-"], line
        assert cells[4].endswith("s") and float(cells[4][:-1]) > 0  # time to first token
        assert int(cells[6]) == 6  # tokens
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
