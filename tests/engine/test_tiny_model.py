"""The tiny model builder: deterministic, cached by content, loadable by mlx-lm and transformers."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_model.py"


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
    }


def test_deterministic_for_a_seed(tiny_builder: ModuleType, tiny_model_path: Path, tmp_path: Path) -> None:
    again = tiny_builder.build_tiny_model(tmp_path / "again")
    assert _digest(again) == _digest(tiny_model_path)
    other = tiny_builder.build_tiny_model(tmp_path / "other", seed=1)
    a, b = _digest(tiny_model_path), _digest(other)
    assert a["model.safetensors"] != b["model.safetensors"]
    assert a["tokenizer.json"] == b["tokenizer.json"]


def test_cached_by_content(tiny_builder: ModuleType, tmp_path: Path) -> None:
    first = tiny_builder.cached_tiny_model(tmp_path)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert tiny_builder.cached_tiny_model(tmp_path) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp  # not rebuilt
    assert tiny_builder.cached_tiny_model(tmp_path, seed=3) != first


def test_loads_with_mlx_lm(tiny_model_path: Path) -> None:
    import mlx.core as mx
    from mlx_lm import load

    model, tokenizer = load(str(tiny_model_path))[:2]
    config = json.loads((tiny_model_path / "config.json").read_text())
    assert config["vocab_size"] == len(tokenizer.get_vocab())
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in tokenizer.eos_token_ids
    logits = model(mx.array([[1, 2, 3]]))
    assert logits.shape == (1, 3, config["vocab_size"])


def test_loads_with_transformers_tokenizer_and_config(tiny_model_path: Path) -> None:
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(tiny_model_path, local_files_only=True)
    assert config.model_type == "qwen2" and config.hidden_size == 64
    tok = AutoTokenizer.from_pretrained(tiny_model_path, local_files_only=True)
    text = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert isinstance(text, str)
    assert text.startswith("<|im_start|>system\nYou are Qwen")
    assert text.endswith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")
    code = "<canvas id='c'></canvas>\nconst ctx = c.getContext('2d');"
    assert tok.decode(tok.encode(code, add_special_tokens=False)) == code
    assert tok.convert_tokens_to_ids("<|im_end|>") == config.eos_token_id


def test_transformers_model_loads(tiny_model_path: Path) -> None:
    pytest.importorskip("torch")
    from transformers import Qwen2ForCausalLM

    model = Qwen2ForCausalLM.from_pretrained(tiny_model_path, local_files_only=True)
    assert model.config.num_hidden_layers == 2


def test_command_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(FIXTURE), str(tmp_path / "cli"), "--seed", "2"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == str(tmp_path / "cli")
    assert (tmp_path / "cli" / "model.safetensors").is_file()
