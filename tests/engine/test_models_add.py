"""``models add`` on the tiny real Qwen2 model, and on broken copies of it (one defect each)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from safetensors.numpy import load_file, save_file

from studio import cli
from studio.engine.base import ModelLoadError
from studio.engine.mlx import MLXEngine
from studio.models.localmodels import add_model, list_models, validate_folder


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def _reshard(folder: Path) -> None:
    """Split model.safetensors into two shards with an index, as big checkpoints ship."""
    tensors = load_file(str(folder / "model.safetensors"))
    names = sorted(tensors)
    weight_map = {}
    for i, part in enumerate((names[: len(names) // 2], names[len(names) // 2 :])):
        shard = f"model-{i + 1:05d}-of-00002.safetensors"
        save_file({n: tensors[n] for n in part}, str(folder / shard), {"format": "pt"})
        weight_map.update(dict.fromkeys(part, shard))
    (folder / "model.safetensors").unlink()
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": weight_map})
    )


def test_add_the_tiny_model_then_load_it(
    tiny_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "conf"))
    assert cli.main(["models", "add", str(tiny_model_path), "--json"]) == 0
    added = json.loads(capsys.readouterr().out)["model"]
    assert added["format"] == "safetensors" and added["engines"] == ["mlx", "cuda"]
    assert added["size_bytes"] == (tiny_model_path / "model.safetensors").stat().st_size
    (model,) = list_models()
    engine = MLXEngine()
    try:
        info = engine.load(model.path)
        assert Path(info.path) == tiny_model_path
    finally:
        engine.close()


def test_a_resharded_copy_is_valid(tiny_model_path: Path, tmp_path: Path) -> None:
    folder = _copy(tiny_model_path, tmp_path / "sharded")
    _reshard(folder)
    model = validate_folder(folder)
    assert model.size_bytes == sum(f.stat().st_size for f in folder.glob("model-*.safetensors"))


@pytest.mark.parametrize(
    ("defect", "message"),
    [
        ("no_config", "no config.json in"),
        ("bad_json", r"config.json in .* is not valid JSON"),
        ("no_tokenizer", r"no tokenizer files \(tokenizer.json, or vocab.json \+ merges.txt"),
        ("missing_shard", "weights shard model-00002-of-00002.safetensors listed in the index is missing"),
        ("truncated", r"weights file model.safetensors is truncated \(\d+ bytes on disk\)"),
        ("vocab_mismatch", r"says vocab_size \d+ but the embedding has \d+ rows"),
    ],
)
def test_models_add_names_the_defect(
    tiny_model_path: Path,
    tmp_path: Path,
    defect: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "conf"))
    folder = _copy(tiny_model_path, tmp_path / "broken")
    if defect == "no_config":
        (folder / "config.json").unlink()
    elif defect == "bad_json":
        text = (folder / "config.json").read_text()
        (folder / "config.json").write_text(text.replace('"model_type"', "model_type", 1))
    elif defect == "no_tokenizer":
        for name in ("tokenizer.json", "vocab.json", "merges.txt"):
            (folder / name).unlink()
    elif defect == "missing_shard":
        _reshard(folder)
        (folder / "model-00002-of-00002.safetensors").unlink()
    elif defect == "truncated":
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif defect == "vocab_mismatch":
        config = json.loads((folder / "config.json").read_text())
        config["vocab_size"] += 7
        (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=message):
        add_model(folder, store=tmp_path / "models.json")
    assert cli.main(["models", "add", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Not added: ") and "Traceback" not in err
    assert list_models() == []
