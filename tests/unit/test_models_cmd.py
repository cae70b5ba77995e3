"""``artifacts-studio models``: the catalog as a table or JSON, with installed models from the HF cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from studio.cli import build_parser


def _fake_cache(hf_home: Path, repo: str, files: list[str]) -> None:
    """The Hugging Face hub cache layout: hub/models--owner--name/{blobs,refs,snapshots/<rev>/...}."""
    rev = "0123456789abcdef0123456789abcdef01234567"
    root = hf_home / "hub" / ("models--" + repo.replace("/", "--"))
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(rev)
    (root / "blobs").mkdir()
    snap = root / "snapshots" / rev
    snap.mkdir(parents=True)
    for i, name in enumerate(files):
        blob = root / "blobs" / f"{i:040x}"
        blob.write_bytes(b"x" * 16)
        link = snap / name
        try:
            link.symlink_to(os.path.relpath(blob, snap))
        except OSError:  # no symlinks (Windows without developer mode): the hub copies files
            link.write_bytes(blob.read_bytes())


def _models(hf_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_") and k != "HUGGINGFACE_HUB_CACHE"}
    env.update(HF_HOME=str(hf_home), HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "studio", "models", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=env,
    )


def test_parser_has_models() -> None:
    args = build_parser().parse_args(["models", "--json", "--all"])
    assert (args.command, args.json, args.all) == ("models", True, True)


def test_models_json_marks_cached_repo_installed(tmp_path: Path) -> None:
    hf = tmp_path / "hf"
    _fake_cache(hf, "mlx-community/Qwen2.5-Coder-0.5B-Instruct-4bit", ["config.json", "model.safetensors"])
    _fake_cache(hf, "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", ["qwen2.5-coder-1.5b-instruct-q8_0.gguf"])
    out = _models(hf, "--json", "--all")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    rows = {r["id"]: r for r in data["models"]}
    assert len(rows) == 30
    assert rows["mlx:0.5B:4bit"]["installed"] is True
    assert rows["llamacpp:1.5B:q8_0"]["installed"] is True
    assert rows["llamacpp:1.5B:q4_k_m"]["installed"] is False  # same repo, other quant not downloaded
    assert sum(r["installed"] for r in rows.values()) == 2
    assert rows["cuda:3B:bf16"]["engine"] == "cuda (bf16)"
    assert rows["cuda:3B:bf16"]["licence"] == "Qwen Research License"
    assert data["memory"]["total_gb"] > 0
    assert set(data["recommended"]) == {"mlx", "llamacpp", "cuda"}
    assert all(r["fit"] in ("comfortable", "tight", "too large") for r in rows.values())


def test_models_without_cache_means_none_installed(tmp_path: Path) -> None:
    out = _models(tmp_path / "missing", "--json", "--all")
    assert out.returncode == 0, out.stderr
    assert not any(r["installed"] for r in json.loads(out.stdout)["models"])


def test_models_table(tmp_path: Path) -> None:
    out = _models(tmp_path / "missing", "--all")
    assert out.returncode == 0, out.stderr
    assert "This machine:" in out.stdout
    assert "Qwen2.5-Coder-32B-Instruct" in out.stdout and "Recommended for" in out.stdout
    assert "Qwen Research License" in out.stdout
