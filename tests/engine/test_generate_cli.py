"""``artifacts-studio generate`` end to end: a subprocess, the real mlx-lm engine, the tiny model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def generate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studio", "generate", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        cwd=cwd,
    )


def test_streams_real_tokens_and_prints_figures(tiny_model_path: Path, tmp_path: Path) -> None:
    res = generate(
        "--model",
        str(tiny_model_path),
        "--prompt",
        "make a snake game",
        "--max-tokens",
        "12",
        "--seed",
        "7",
        cwd=tmp_path,
    )
    # random weights write no artifact: exit 3 with one reason line, after the text and the figures
    assert res.returncode == 3, res.stderr
    assert res.stdout.strip(), "no streamed text on stdout"
    assert "[turn 1] prompt" in res.stderr and "generated 12" in res.stderr and "finish: length" in res.stderr
    assert "no artifact" in res.stderr.splitlines()[-1]
    assert list(tmp_path.iterdir()) == []  # nothing written without an artifact


def test_json_two_turns_reuse_the_prompt_cache(tiny_model_path: Path, tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("x,y\n1,2\n3,4\n")
    res = generate(
        "--model",
        str(tiny_model_path),
        "--prompt",
        "chart this",
        "--prompt",
        "make it red",
        "--attach",
        str(data),
        "--max-tokens",
        "8",
        "--temperature",
        "0",
        "--json",
    )
    assert res.returncode == 3, res.stderr
    out = json.loads(res.stdout)
    t1, t2 = out["turns"]
    assert t1["generated_tokens"] == 8 and t1["finish_reason"] == "length"
    assert t1["prefilled_tokens"] == t1["prompt_tokens"] > 0  # cold cache: everything prefilled
    assert t2["prompt_tokens"] > t1["prompt_tokens"]
    # turn 2 prefills only what is new since the cached prefix (its question + template tokens)
    assert 0 < t2["prefilled_tokens"] < t2["prompt_tokens"] - t1["prompt_tokens"] + 8
    assert t1["ttft_s"] > 0 and t1["tokens_per_s"] > 0
    assert out["artifact"] is None and out["reason"]


def test_same_seed_same_text(tiny_model_path: Path) -> None:
    args = (
        "--model",
        str(tiny_model_path),
        "--prompt",
        "hello",
        "--max-tokens",
        "10",
        "--temperature",
        "0.9",
        "--seed",
        "3",
        "--json",
    )
    first, second = (json.loads(generate(*args).stdout)["text"] for _ in range(2))
    assert first == second and first


def test_missing_and_broken_models_exit_2_with_a_clear_line(tmp_path: Path) -> None:
    res = generate("--model", str(tmp_path / "nowhere"), "--prompt", "x")
    assert res.returncode == 2
    assert "cannot load the model" in res.stderr and "Traceback" not in res.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    res = generate("--model", str(broken), "--prompt", "x")
    assert res.returncode == 2 and "config.json" in res.stderr and "Traceback" not in res.stderr


def test_json_reports_each_turns_mode_and_edit_blocks(tiny_model_path: Path) -> None:
    # Random weights write neither a file nor edits: this checks the report's shape, not its content
    # (the turn logic itself is tested on real answers in tests/unit/test_patchturn.py).
    res = generate(
        "--model",
        str(tiny_model_path),
        "--prompt",
        "a clock",
        "--prompt",
        "make it blue",
        "--max-tokens",
        "6",
        "--temperature",
        "0",
        "--json",
    )
    assert res.returncode == 3, res.stderr
    turns = json.loads(res.stdout)["turns"]
    assert [t["turn"] for t in turns] == [1, 2]
    for t in turns:
        assert t["mode"] in ("full", "patch", "fallback", "none")
        assert isinstance(t["applied"], int) and isinstance(t["failed"], list)
        assert {"added", "removed", "fallback_ok", "generated_tokens", "finish_reason"} <= set(t)


def test_a_restart_prefills_only_the_user_message(tiny_model_path: Path) -> None:
    # Two processes: the first saves the system prompt's state in the cache folder, the second
    # (a new conversation after a "restart") loads it and computes only the user's message.
    def first_turn(prompt: str) -> dict[str, int]:
        res = generate(
            "--model",
            str(tiny_model_path),
            "--prompt",
            prompt,
            "--max-tokens",
            "2",
            "--temperature",
            "0",
            "--json",
        )
        assert res.returncode == 3, res.stderr
        return json.loads(res.stdout)["turns"][0]  # type: ignore[no-any-return]

    cold, warm = first_turn("make a snake game"), first_turn("draw a clock")
    assert cold["prefilled_tokens"] == cold["prompt_tokens"]
    assert 0 < warm["prefilled_tokens"] < warm["prompt_tokens"] / 2
