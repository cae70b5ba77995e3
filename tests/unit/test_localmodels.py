"""studio.models.localmodels: folder checks and the list of added models (real files, no model loaded)."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from studio.engine.base import ModelLoadError
from studio.models import catalog
from studio.models.localmodels import (
    LocalModel,
    add_model,
    check_gguf,
    installed_models,
    list_models,
    remove_model,
    store_path,
    validate_folder,
)

VOCAB = 32


def _folder(
    root: Path, *, vocab: int = VOCAB, shards: int = 1, config: dict[str, object] | None = None
) -> Path:
    """A small model folder: config, tokenizer.json, safetensors weights (sharded with an index)."""
    root.mkdir(parents=True, exist_ok=True)
    cfg = {"model_type": "qwen2", "vocab_size": VOCAB, "max_position_embeddings": 512, **(config or {})}
    (root / "config.json").write_text(json.dumps(cfg))
    (root / "tokenizer.json").write_text(json.dumps({"version": "1.0", "model": {"type": "BPE"}}))
    tensors = {
        "model.embed_tokens.weight": np.zeros((vocab, 8), np.float32),
        "model.norm.weight": np.ones(8, np.float32),
        "lm_head.weight": np.zeros((vocab, 8), np.float32),
    }
    if shards == 1:
        save_file(tensors, str(root / "model.safetensors"))
        return root
    names = sorted(tensors)
    weight_map = {}
    for i in range(shards):
        shard = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[i::shards]}
        save_file(part, str(root / shard))
        weight_map.update(dict.fromkeys(part, shard))
    (root / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return root


def _gguf(path: Path, version: int = 3, tensors: int = 2) -> Path:
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", version, tensors, 1) + b"\0" * 64)
    return path


def test_good_folder(tmp_path: Path) -> None:
    model = validate_folder(_folder(tmp_path / "m"))
    assert model.format == "safetensors" and model.name == "m"
    assert model.engines == ("mlx", "cuda")
    assert model.size_bytes == (tmp_path / "m" / "model.safetensors").stat().st_size
    sharded = validate_folder(_folder(tmp_path / "s", shards=2))
    assert sharded.size_bytes == sum(f.stat().st_size for f in (tmp_path / "s").glob("*.safetensors"))


def test_quantized_engines_and_bits(tmp_path: Path) -> None:
    mlx = validate_folder(_folder(tmp_path / "q", config={"quantization": {"bits": 4, "group_size": 64}}))
    assert mlx.engines == ("mlx",)
    with pytest.raises(ModelLoadError, match="quantized but gives no valid bits"):
        validate_folder(_folder(tmp_path / "nobits", config={"quantization": {"group_size": 64}}))
    gptq = validate_folder(_folder(tmp_path / "g", config={"quantization_config": {"quant_method": "gptq"}}))
    assert gptq.engines == ("cuda",)


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("no_config", "no config.json"),
        ("bad_json", r"config.json in .* is not valid JSON \(line 1"),
        ("no_model_type", "has no model_type"),
        ("no_tokenizer", "no tokenizer files"),
        ("bad_tokenizer", "tokenizer.json in .* is not valid JSON"),
        ("missing_shard", r"weights shard model-00002-of-00002.safetensors listed in the index is missing"),
        ("truncated", r"weights file model.safetensors is truncated"),
        ("vocab", "says vocab_size 32 but the embedding has 40 rows"),
        ("no_weights", r"no \*.safetensors weights"),
    ],
)
def test_broken_folders(tmp_path: Path, breakage: str, message: str) -> None:
    folder = _folder(
        tmp_path / "m",
        shards=2 if breakage == "missing_shard" else 1,
        vocab=40 if breakage == "vocab" else VOCAB,
    )
    if breakage == "no_config":
        (folder / "config.json").unlink()
    elif breakage == "bad_json":
        (folder / "config.json").write_text('{"model_type": "qwen2",')
    elif breakage == "no_model_type":
        (folder / "config.json").write_text("{}")
    elif breakage == "no_tokenizer":
        (folder / "tokenizer.json").unlink()
    elif breakage == "bad_tokenizer":
        (folder / "tokenizer.json").write_text("{not json")
    elif breakage == "missing_shard":
        (folder / "model-00002-of-00002.safetensors").unlink()
    elif breakage == "truncated":
        data = (folder / "model.safetensors").read_bytes()
        (folder / "model.safetensors").write_bytes(data[:-100])
    elif breakage == "no_weights":
        (folder / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match=message):
        validate_folder(folder)


def test_index_naming_a_tensor_its_shard_lacks(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "m", shards=2)
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    index["weight_map"]["model.layers.0.mlp.up_proj.weight"] = "model-00001-of-00002.safetensors"
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ModelLoadError, match="tensor model.layers.0.mlp.up_proj.weight listed in the index"):
        validate_folder(folder)


def test_gguf_file_and_folder(tmp_path: Path) -> None:
    f = _gguf(tmp_path / "qwen-q4_k_m.gguf")
    model = validate_folder(f)
    assert (model.format, model.engines, model.size_bytes, model.name) == (
        "gguf",
        ("llamacpp",),
        88,
        "qwen-q4_k_m",
    )
    folder = tmp_path / "ggufdir"
    folder.mkdir()
    _gguf(folder / "a-00001-of-00002.gguf")
    _gguf(folder / "a-00002-of-00002.gguf")
    assert validate_folder(folder).size_bytes == 176
    (folder / "a-00002-of-00002.gguf").unlink()
    with pytest.raises(ModelLoadError, match="GGUF shard a-00002-of-00002.gguf is missing"):
        validate_folder(folder)
    _gguf(folder / "a-00002-of-00002.gguf")
    _gguf(folder / "b.gguf")
    with pytest.raises(ModelLoadError, match="several GGUF models"):
        validate_folder(folder)
    (tmp_path / "fake.gguf").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    with pytest.raises(ModelLoadError, match="not a GGUF file"):
        check_gguf(tmp_path / "fake.gguf")
    with pytest.raises(ModelLoadError, match="GGUF version 1"):
        validate_folder(_gguf(tmp_path / "old.gguf", version=1))
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ModelLoadError, match="not a .gguf model"):
        validate_folder(tmp_path / "notes.txt")


def test_add_list_remove(tmp_path: Path) -> None:
    store = tmp_path / "cfg" / "models.json"
    a = add_model(_folder(tmp_path / "a"), store=store)
    b = add_model(_gguf(tmp_path / "b.gguf"), store=store)
    assert add_model(tmp_path / "a", store=store) == a  # adding again keeps one entry
    assert [m.path for m in list_models(store=store)] == [b.path, a.path]
    assert json.loads(store.read_text())["models"][0]["format"] == "gguf"
    with pytest.raises(ModelLoadError):
        add_model(tmp_path / "nothing-here", store=store)
    shutil.rmtree(tmp_path / "a")  # the folder vanishes
    assert [m.path for m in list_models(store=store)] == [b.path]
    flagged = list_models(store=store, include_missing=True)
    assert [(m.path, m.available) for m in flagged] == [(b.path, True), (a.path, False)]
    assert remove_model(a.path, store=store) is True
    assert remove_model(a.path, store=store) is False
    assert list_models(store=store) == [LocalModel(b.path, "b", "gguf", ("llamacpp",), 88)]


def test_default_store_is_in_the_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "conf"))
    assert store_path() == tmp_path / "conf" / "models.json"
    add_model(_folder(tmp_path / "m"))
    assert [m.name for m in list_models()] == ["m"]


def test_unreadable_store_is_empty(tmp_path: Path) -> None:
    store = tmp_path / "models.json"
    store.write_text("{broken")
    assert list_models(store=store) == []


def test_installed_models_finds_complete_catalog_snapshots(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    commit = "a" * 40

    def snapshot(repo: str) -> Path:
        root = cache / ("models--" + repo.replace("/", "--"))
        (root / "refs").mkdir(parents=True)
        (root / "refs" / "main").write_text(commit)
        (root / "blobs").mkdir()
        return root / "snapshots" / commit

    mlx = _folder(
        snapshot("mlx-community/Qwen2.5-Coder-0.5B-Instruct-4bit"), config={"quantization": {"bits": 4}}
    )
    broken = _folder(snapshot("mlx-community/Qwen2.5-Coder-1.5B-Instruct-4bit"))
    (broken / "tokenizer.json").unlink()  # an unfinished download
    gguf_dir = snapshot("Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF")
    gguf_dir.mkdir(parents=True)
    _gguf(gguf_dir / "qwen2.5-coder-0.5b-instruct-q8_0.gguf")
    store = tmp_path / "models.json"
    added = add_model(_folder(tmp_path / "mine"), store=store)
    found = installed_models(store=store, cache_dir=cache)
    assert found[0].path == added.path
    by_name = {m.name: m for m in found[1:]}
    mlx_label, q8_label = (catalog.find(i).label for i in ("mlx:0.5B:4bit", "llamacpp:0.5B:q8_0"))  # type: ignore[union-attr]
    assert set(by_name) == {mlx_label, q8_label}  # not the 1.5B (no tokenizer) nor the 0.5B Q4_K_M
    assert by_name[mlx_label].path == str(mlx) and by_name[mlx_label].engines == ("mlx",)
    assert by_name[q8_label].engines == ("llamacpp",)
    assert by_name[q8_label].path == str(gguf_dir / "qwen2.5-coder-0.5b-instruct-q8_0.gguf")
