"""Broken model folders give one clear sentence naming what is wrong, through MLXEngine.load."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from safetensors.numpy import load_file, save_file

from studio.engine.base import ModelLoadError
from studio.engine.mlx import MLXEngine, mlx_supports
from studio.engine.modelcheck import check_model_folder, looks_like_repo_id, resolve_model


@pytest.fixture
def copy_model(tiny_model_path: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "model"
    shutil.copytree(tiny_model_path, dest)
    return dest


def _config(folder: Path, **changes: object) -> None:
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(changes)
    for key, value in changes.items():
        if value is None:
            cfg.pop(key)
    (folder / "config.json").write_text(json.dumps(cfg))


def _drop_tensor(folder: Path) -> None:
    weights = load_file(str(folder / "model.safetensors"))
    weights.pop("model.layers.1.mlp.up_proj.weight")
    save_file(weights, str(folder / "model.safetensors"))


def _truncate(folder: Path) -> None:
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])


def _rm(*names: str) -> Callable[[Path], None]:
    def remove(folder: Path) -> None:
        for name in names:
            (folder / name).unlink()

    return remove


BREAKS: dict[str, tuple[Callable[[Path], object], str]] = {
    "no config": (_rm("config.json"), "no config.json in"),
    "bad json": (
        lambda f: (f / "config.json").write_text("{ not json"),
        "config.json in .* is not valid JSON",
    ),
    "json list": (lambda f: (f / "config.json").write_text("[1, 2]"), "is not a JSON object"),
    "no model_type": (lambda f: _config(f, model_type=None), "has no model_type"),
    "unsupported": (lambda f: _config(f, model_type="nope_arch"), "unsupported model_type 'nope_arch'"),
    "no weights": (_rm("model.safetensors"), r"no \*\.safetensors weights in"),
    "pytorch bin only": (
        lambda f: (f / "model.safetensors").rename(f / "pytorch_model.bin"),
        r"no \*\.safetensors weights in .*found pytorch_model\.bin",
    ),
    "truncated weights": (_truncate, "weights file model.safetensors is truncated"),
    "garbage weights": (
        lambda f: (f / "model.safetensors").write_bytes(b"\xff" * 64),
        "model.safetensors is not a valid safetensors file",
    ),
    "no tokenizer": (
        _rm("tokenizer.json", "vocab.json", "merges.txt"),
        "no tokenizer files",
    ),
    "bad tokenizer_config": (
        lambda f: (f / "tokenizer_config.json").write_text("{"),
        "tokenizer_config.json in .* is not valid JSON",
    ),
    "shape mismatch": (lambda f: _config(f, hidden_size=128), "weights in .* do not match config.json"),
    "missing tensor": (_drop_tensor, "weights in .* do not match config.json: Missing"),
    "too many layers": (lambda f: _config(f, num_hidden_layers=3), "do not match config.json"),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_broken_folder_names_the_problem(copy_model: Path, case: str) -> None:
    breaker, pattern = BREAKS[case]
    breaker(copy_model)
    eng = MLXEngine()
    try:
        with pytest.raises(ModelLoadError, match=pattern) as info:
            eng.load(str(copy_model))
        assert "\n" not in str(info.value)
        assert "Traceback" not in str(info.value)
        assert eng.model is None
    finally:
        eng.close()


def test_missing_folder_and_file(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="model folder not found"):
        MLXEngine().load(str(tmp_path / "nowhere"))
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ModelLoadError, match="is not a folder"):
        check_model_folder(tmp_path / "file.txt")


def test_repo_id_not_downloaded(tmp_path: Path) -> None:
    assert looks_like_repo_id("Qwen/Qwen2.5-Coder-7B-Instruct")
    assert not looks_like_repo_id("./models/x") and not looks_like_repo_id("/abs/path")
    with pytest.raises(ModelLoadError, match="is not downloaded"):
        MLXEngine(hf_cache_dir=tmp_path).load("Qwen/Qwen2.5-Coder-0.5B-Instruct")


def test_repo_id_found_in_the_local_hf_cache(tiny_model_path: Path, tmp_path: Path) -> None:
    # The layout huggingface_hub writes: models--owner--name/{refs/main, snapshots/<commit>/...}.
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--studio--tiny-qwen2"
    shutil.copytree(tiny_model_path, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    assert resolve_model("studio/tiny-qwen2", cache_dir=tmp_path) == repo / "snapshots" / commit
    with MLXEngine(hf_cache_dir=tmp_path) as eng:
        info = eng.load("studio/tiny-qwen2")
        assert info.name == "studio/tiny-qwen2"
        assert info.path.endswith(commit)


def test_valid_folder_description(tiny_model_path: Path) -> None:
    folder = check_model_folder(tiny_model_path, supported=mlx_supports)
    assert folder.model_type == "qwen2"
    assert folder.weight_files == (tiny_model_path / "model.safetensors",)
    assert folder.weight_bytes == (tiny_model_path / "model.safetensors").stat().st_size
    assert folder.has_chat_template and folder.quantization_bits is None


def test_missing_chat_template_falls_back_to_chatml(copy_model: Path) -> None:
    cfg = json.loads((copy_model / "tokenizer_config.json").read_text())
    del cfg["chat_template"]
    (copy_model / "tokenizer_config.json").write_text(json.dumps(cfg))
    with MLXEngine() as eng:
        info = eng.load(str(copy_model))
        assert info.extra["chat_template"] == "chatml-fallback"
        ids = eng.encode_chat([{"role": "user", "content": "hi"}])
        assert ids.count(ids[0]) == 3  # <|im_start|> opens the system, user and assistant turns


def test_mlx_supports() -> None:
    assert mlx_supports("qwen2") and mlx_supports("llama")
    assert not mlx_supports("nope_arch")


def test_failed_load_keeps_or_drops_the_old_model(engine: MLXEngine, copy_model: Path) -> None:
    with pytest.raises(ModelLoadError, match="model folder not found"):
        engine.load(str(copy_model / "missing"))
    assert engine.model is not None  # a folder that fails the checks never unloads anything
    _config(copy_model, hidden_size=128)
    with pytest.raises(ModelLoadError, match="do not match config.json"):
        engine.load(str(copy_model))
    assert engine.model is None  # the old model was released before mlx-lm read the new one
    chunks = list(engine.stream_chat([{"role": "user", "content": "hi"}]))
    assert chunks[-1].error == "no model is loaded"
