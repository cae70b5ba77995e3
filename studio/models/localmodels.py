"""Model folders on this computer that the user added, and the checks that a folder really is a model.

The list lives in a small JSON file (default ``<config dir>/models.json``)::

    {"models": [{"path": "/abs/folder", "name": "folder", "format": "safetensors",
                 "engines": ["mlx", "cuda"], "size_bytes": 123, "added": "2026-11-26T03:00:00Z"}]}

:func:`validate_folder` runs :func:`modelcheck.check_model_folder` (config, tokenizer, weights present,
safetensors headers against file sizes, index shards) and adds consistency checks: every tensor the
index maps is in its shard, a quantized config says its bits, ``vocab_size`` matches the embedding's
first dimension, tokenizer.json parses. A ``.gguf`` file (or a folder with one model in GGUF) is
checked by its magic and version.
"""

from __future__ import annotations

import json
import logging
import re
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from studio.engine.base import ModelLoadError
from studio.engine.modelcheck import check_model_folder

log = logging.getLogger(__name__)

STORE_NAME = "models.json"
GGUF_MAGIC = b"GGUF"
GGUF_VERSIONS = (2, 3)
_MLX_BITS = (2, 3, 4, 5, 6, 8)
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$")


@dataclass(frozen=True, slots=True)
class LocalModel:
    """A model on this computer.

    Attributes:
        path: the folder (or the ``.gguf`` file), absolute.
        name: a display name (the folder name, or "owner/name" for a Hugging Face cache snapshot).
        format: "safetensors" or "gguf".
        engines: the engines that load it ("mlx", "cuda", "llamacpp").
        size_bytes: the weights' size on disk.
        available: False when the folder has vanished since it was added.
    """

    path: str
    name: str
    format: str
    engines: tuple[str, ...]
    size_bytes: int
    available: bool = True

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "name": self.name,
            "format": self.format,
            "engines": list(self.engines),
            "size_bytes": self.size_bytes,
            "available": self.available,
        }


# -- validation -----------------------------------------------------------------------------------


def _display_name(path: Path) -> str:
    """ "owner/name" for ``.../models--owner--name/snapshots/<commit>``, else the folder name."""
    parts = path.parts
    if len(parts) >= 3 and parts[-2] == "snapshots" and parts[-3].startswith("models--"):
        return parts[-3][len("models--") :].replace("--", "/", 1)
    return path.name


def check_gguf(path: Path) -> int:
    """Check a GGUF file's magic and version; returns its size.

    Raises:
        ModelLoadError: not a GGUF file, an unknown version, or too short.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(24)
    except OSError as exc:
        raise ModelLoadError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(head) < 24 or head[:4] != GGUF_MAGIC:
        raise ModelLoadError(f"{path.name} is not a GGUF file (it does not start with 'GGUF')")
    (version,) = struct.unpack("<I", head[4:8])
    if version not in GGUF_VERSIONS:
        raise ModelLoadError(f"{path.name} is GGUF version {version}; llama.cpp reads versions 2 and 3")
    (n_tensors,) = struct.unpack("<Q", head[8:16])
    if n_tensors == 0:
        raise ModelLoadError(f"{path.name} holds no tensors")
    return size


def _gguf_model(path: Path) -> LocalModel:
    """A ``.gguf`` file, or a folder whose model is in GGUF (one file, or the shards of one)."""
    if path.is_file():
        files = [path]
        shard = _SHARD.search(path.name)
        if shard and shard[1] == "00001":
            stem = path.name[: shard.start()]
            files = [
                path.with_name(f"{stem}-{i:05d}-of-{shard[2]}.gguf") for i in range(1, int(shard[2]) + 1)
            ]
    else:
        found = sorted(path.glob("*.gguf"))
        firsts = [f for f in found if not _SHARD.search(f.name) or _SHARD.search(f.name)[1] == "00001"]  # type: ignore[index]
        if not firsts:
            raise ModelLoadError(f"no first GGUF shard (*-00001-of-*.gguf) in {path}")
        if len(firsts) > 1:
            names = ", ".join(f.name for f in firsts[:3])
            raise ModelLoadError(f"{path} holds several GGUF models ({names}): pick one file")
        return _gguf_model(firsts[0])
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise ModelLoadError(f"GGUF shard {missing[0]} is missing next to {path.name}")
    size = sum(check_gguf(f) for f in files)
    return LocalModel(str(path.absolute()), path.stem, "gguf", ("llamacpp",), size)


def _header(path: Path) -> dict[str, object]:
    with path.open("rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        data = json.loads(fh.read(n))
    return data if isinstance(data, dict) else {}


def _check_consistency(path: Path, config: dict[str, object], weight_files: tuple[Path, ...]) -> None:
    headers = {f.name: _header(f) for f in weight_files}
    index = path / "model.safetensors.index.json"
    if index.is_file():
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map") or {}
        for tensor, shard in weight_map.items():
            if shard in headers and tensor not in headers[shard]:
                raise ModelLoadError(f"tensor {tensor} listed in the index is not in {shard} ({path})")
    quant = config.get("quantization")
    if isinstance(quant, dict) and quant.get("bits") not in _MLX_BITS:
        raise ModelLoadError(
            f"config.json in {path} says the model is quantized but gives no valid bits "
            f"({quant.get('bits')!r}; expected one of {', '.join(map(str, _MLX_BITS))})"
        )
    qcfg = config.get("quantization_config")
    if isinstance(qcfg, dict) and not qcfg.get("quant_method"):
        raise ModelLoadError(f"quantization_config in {path}/config.json has no quant_method")
    vocab = config.get("vocab_size")
    for header in headers.values():
        for name, info in header.items():
            if name.endswith("embed_tokens.weight") and isinstance(info, dict):
                shape = info.get("shape")
                if isinstance(vocab, int) and isinstance(shape, list) and shape and shape[0] != vocab:
                    raise ModelLoadError(
                        f"config.json in {path} says vocab_size {vocab} but the embedding has {shape[0]} rows"
                    )
    tok = path / "tokenizer.json"
    if tok.is_file():
        try:
            json.loads(tok.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelLoadError(f"tokenizer.json in {path} is not valid JSON ({exc})") from None


def _engines(config: dict[str, object]) -> tuple[str, ...]:
    if isinstance(config.get("quantization"), dict):
        return ("mlx",)  # MLX-quantized: transformers cannot read it
    if isinstance(config.get("quantization_config"), dict):
        return ("cuda",)  # GPTQ / AWQ / bitsandbytes checkpoints: transformers only
    return ("mlx", "cuda")


def validate_folder(path: str | Path) -> LocalModel:
    """Check that ``path`` is a model this studio can load, and describe it.

    Args:
        path: a model folder (config.json, tokenizer, safetensors), a ``.gguf`` file, or a folder with
            one GGUF model.

    Raises:
        ModelLoadError: one sentence naming what is missing or broken.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelLoadError(f"model folder not found: {p}")
    if p.is_file() or (p.is_dir() and not (p / "config.json").exists() and any(p.glob("*.gguf"))):
        if p.is_file() and p.suffix != ".gguf":
            raise ModelLoadError(f"{p} is a file but not a .gguf model: pick the model's folder")
        return _gguf_model(p)
    folder = check_model_folder(p)
    try:
        _check_consistency(p, folder.config, folder.weight_files)
    except ModelLoadError:
        raise
    except (OSError, ValueError, struct.error) as exc:
        raise ModelLoadError(f"cannot read the model in {p}: {exc}") from None
    return LocalModel(
        path=str(p.absolute()),
        name=_display_name(p.absolute()),
        format="safetensors",
        engines=_engines(folder.config),
        size_bytes=folder.weight_bytes,
    )


# -- the list of added folders --------------------------------------------------------------------


def store_path(store: Path | None = None) -> Path:
    """The JSON file of added models (``<config dir>/models.json`` unless given)."""
    if store is not None:
        return Path(store)
    from studio.store.paths import config_dir

    return config_dir() / STORE_NAME


def _load(store: Path) -> list[dict[str, object]]:
    try:
        data = json.loads(store.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", store, exc)
        return []
    items = data.get("models") if isinstance(data, dict) else None
    return [m for m in items or [] if isinstance(m, dict) and isinstance(m.get("path"), str)]


def _save(store: Path, items: list[dict[str, object]]) -> None:
    from studio.store.settings import write_json_atomic

    write_json_atomic(store, {"models": items})


def _key(path: str | Path) -> str:
    return str(Path(path).expanduser().absolute())


def add_model(path: str | Path, *, store: Path | None = None) -> LocalModel:
    """Validate ``path`` and remember it (adding it again refreshes its entry).

    Raises:
        ModelLoadError: the folder is not a loadable model.
    """
    model = validate_folder(path)
    target = store_path(store)
    items = [m for m in _load(target) if m["path"] != model.path]
    entry = model.to_dict()
    entry.pop("available")
    entry["added"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    items.append(entry)
    _save(target, items)
    log.info("added model %s (%s)", model.path, model.format)
    return model


def remove_model(path: str | Path, *, store: Path | None = None) -> bool:
    """Forget an added folder (the files stay); True when it was in the list."""
    target = store_path(store)
    items = _load(target)
    keep = [m for m in items if m["path"] not in (_key(path), str(path))]
    if len(keep) == len(items):
        return False
    _save(target, keep)
    return True


def list_models(*, store: Path | None = None, include_missing: bool = False) -> list[LocalModel]:
    """The added models, in the order they were added.

    Args:
        store: the JSON file (default ``<config dir>/models.json``).
        include_missing: also return folders that vanished, with ``available=False`` (else skipped).
    """
    out: list[LocalModel] = []
    for m in _load(store_path(store)):
        path = str(m["path"])
        available = Path(path).exists()
        if not available and not include_missing:
            continue
        engines = m.get("engines")
        size = m.get("size_bytes")
        out.append(
            LocalModel(
                path=path,
                name=str(m.get("name") or Path(path).name),
                format=str(m.get("format") or "safetensors"),
                engines=tuple(str(e) for e in engines) if isinstance(engines, list) else (),
                size_bytes=size if isinstance(size, int) else 0,
                available=available,
            )
        )
    return out


def installed_models(*, store: Path | None = None, cache_dir: str | Path | None = None) -> list[LocalModel]:
    """Added folders plus catalog models whose download is complete in the Hugging Face cache.

    A cached safetensors repo counts when its snapshot passes :func:`validate_folder`; a GGUF entry
    when the files matching its pattern are all there and pass the GGUF check.
    """
    out = list_models(store=store)
    seen = {m.path for m in out}
    for model in _cached_catalog_models(cache_dir):
        if model.path not in seen:
            seen.add(model.path)
            out.append(model)
    return out


def _cached_catalog_models(cache_dir: str | Path | None) -> list[LocalModel]:
    from fnmatch import fnmatch

    from studio.models import catalog
    from studio.models.hfcache import cached_repos

    repos = cached_repos(cache_dir)
    out: list[LocalModel] = []
    for entry in catalog.catalog():
        for rev in repos.get(entry.repo, []):
            snap = rev.snapshot
            try:
                if entry.pattern:
                    files = sorted(f for f in snap.iterdir() if fnmatch(f.name, entry.pattern))
                    if not files:
                        continue
                    model = _gguf_model(files[0])
                else:
                    model = validate_folder(snap)
            except ModelLoadError:
                continue  # an incomplete download
            out.append(LocalModel(model.path, entry.label, model.format, (entry.engine,), model.size_bytes))
            break
    return out


__all__ = [
    "LocalModel",
    "add_model",
    "check_gguf",
    "installed_models",
    "list_models",
    "remove_model",
    "store_path",
    "validate_folder",
]
