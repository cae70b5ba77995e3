"""Check a model folder before an engine loads it, and say in one sentence what is wrong.

Plain Python (json, pathlib): no engine library is imported, so ``models add`` and the GUI can
validate a folder cheaply. Engines pass their own ``supported`` predicate for ``model_type``.
"""

from __future__ import annotations

import json
import logging
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from studio.engine.base import ModelLoadError

log = logging.getLogger(__name__)

# A Hugging Face repo id: "owner/name" (no path separators beyond the one slash).
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

TOKENIZER_HINT = "tokenizer.json, or vocab.json + merges.txt, or tokenizer.model"


@dataclass(frozen=True, slots=True)
class ModelFolder:
    """What a valid model folder holds.

    Attributes:
        path: the folder.
        config: config.json, parsed.
        model_type: config["model_type"].
        weight_files: the safetensors files the weights live in.
        weight_bytes: their total size on disk.
        quantization_bits: bits per weight when the folder is quantized (MLX style), else None.
        context_length: max_position_embeddings when the config gives it.
        has_chat_template: whether the tokenizer files carry a chat template.
    """

    path: Path
    config: dict[str, object]
    model_type: str
    weight_files: tuple[Path, ...]
    weight_bytes: int
    quantization_bits: int | None = None
    context_length: int | None = None
    has_chat_template: bool = False


def looks_like_repo_id(model: str) -> bool:
    """True for "owner/name" strings that are not an existing path."""
    return bool(_REPO_ID.match(model)) and not Path(model).expanduser().exists()


def resolve_model(model: str, *, cache_dir: str | Path | None = None) -> Path:
    """Turn a folder path or a Hugging Face repo id into a local folder, never downloading.

    Args:
        model: a folder, or "owner/name" already in the local Hugging Face cache.
        cache_dir: the Hugging Face hub cache to look in (default: huggingface_hub's).

    Returns:
        The folder.

    Raises:
        ModelLoadError: the folder does not exist or the repo is not downloaded.
    """
    path = Path(model).expanduser()
    if path.exists():
        return path
    if not looks_like_repo_id(model):
        raise ModelLoadError(f"model folder not found: {model}")
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError as exc:  # pragma: no cover - huggingface_hub ships with mlx-lm
        raise ModelLoadError(f"{model} is not a folder and huggingface_hub is not installed") from exc
    try:
        found = snapshot_download(
            model, local_files_only=True, cache_dir=str(cache_dir) if cache_dir else None
        )
    except LocalEntryNotFoundError:
        raise ModelLoadError(
            f"{model} is not a local folder and is not downloaded "
            "(not in the local Hugging Face cache); download it first"
        ) from None
    except Exception as exc:
        raise ModelLoadError(f"cannot read {model} from the local Hugging Face cache: {exc}") from None
    return Path(found)


def _read_json(path: Path, what: str) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelLoadError(
            f"{what} in {path.parent} is not valid JSON (line {exc.lineno}: {exc.msg})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"cannot read {what} in {path.parent}: {exc}") from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"{what} in {path.parent} is not a JSON object")
    return data


def _check_safetensors(path: Path) -> int:
    """Validate a safetensors header against the file size; returns the size."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise ModelLoadError(f"weights file {path.name} is empty or truncated")
            (n,) = struct.unpack("<Q", head)
            if n > size - 8 or n > 100_000_000:
                raise ModelLoadError(f"weights file {path.name} is not a valid safetensors file")
            header = json.loads(fh.read(n))
    except ModelLoadError:
        raise
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"weights file {path.name} is not a valid safetensors file ({exc})") from None
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)]
    if ends and 8 + n + max(ends) > size:
        raise ModelLoadError(f"weights file {path.name} is truncated ({size} bytes on disk)")
    return size


def _weight_files(path: Path, pattern: str) -> tuple[Path, ...]:
    files = tuple(sorted(path.glob(pattern)))
    index = path / "model.safetensors.index.json"
    if index.is_file():
        data = _read_json(index, "model.safetensors.index.json")
        wanted = {str(v) for v in dict(data.get("weight_map") or {}).values()}  # type: ignore[call-overload]
        missing = sorted(w for w in wanted if not (path / w).is_file())
        if missing:
            raise ModelLoadError(f"weights shard {missing[0]} listed in the index is missing from {path}")
    if not files:
        others = sorted(p.name for p in path.iterdir() if p.suffix in {".bin", ".gguf", ".pt", ".pth"})
        hint = f" (found {others[0]}; this engine needs safetensors)" if others else ""
        raise ModelLoadError(f"no *.safetensors weights in {path}{hint}")
    return files


def _has_chat_template(path: Path, tok_config: dict[str, object]) -> bool:
    if tok_config.get("chat_template"):
        return True
    return any((path / n).is_file() for n in ("chat_template.jinja", "chat_template.json"))


def check_model_folder(
    path: str | Path,
    *,
    supported: Callable[[str], bool] | None = None,
    weights_pattern: str = "model*.safetensors",
) -> ModelFolder:
    """Check that a folder holds a loadable model; raise a one-sentence error naming what is wrong.

    Args:
        path: the folder.
        supported: tells whether the engine knows a ``model_type``; None accepts any.
        weights_pattern: the glob the engine loads weights from (mlx-lm: ``model*.safetensors``).

    Returns:
        A :class:`ModelFolder` description.

    Raises:
        ModelLoadError: what is missing or broken.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelLoadError(f"model folder not found: {path}")
    if not path.is_dir():
        raise ModelLoadError(f"{path} is not a folder")
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"no config.json in {path}")
    config = _read_json(path / "config.json", "config.json")
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise ModelLoadError(f"config.json in {path} has no model_type")
    if supported is not None and not supported(model_type):
        raise ModelLoadError(f"unsupported model_type {model_type!r} in {path}/config.json")
    files = _weight_files(path, weights_pattern)
    total = sum(_check_safetensors(f) for f in files)
    has_tok = (path / "tokenizer.json").is_file() or (path / "tokenizer.model").is_file()
    has_tok = has_tok or ((path / "vocab.json").is_file() and (path / "merges.txt").is_file())
    if not has_tok:
        raise ModelLoadError(f"no tokenizer files ({TOKENIZER_HINT}) in {path}")
    tok_config: dict[str, object] = {}
    if (path / "tokenizer_config.json").is_file():
        tok_config = _read_json(path / "tokenizer_config.json", "tokenizer_config.json")
    quant = config.get("quantization") or config.get("quantization_config")
    bits = quant.get("bits") if isinstance(quant, dict) else None
    ctx = config.get("max_position_embeddings")
    return ModelFolder(
        path=path,
        config=config,
        model_type=model_type,
        weight_files=files,
        weight_bytes=total,
        quantization_bits=bits if isinstance(bits, int) else None,
        context_length=ctx if isinstance(ctx, int) else None,
        has_chat_template=_has_chat_template(path, tok_config),
    )
