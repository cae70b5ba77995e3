"""The system prompt, paid once: its evaluated KV state saved per model, template and prompt.

Every conversation starts with the same system prompt (about 650 tokens of the studio's rules), so
its KV state is computed once and saved to the cache folder; a new conversation, also after a
restart, loads it and prefills only the user's message.

The saved prefix is the part of the chat-template output that does not depend on the user's
message (:func:`system_prefix`: the common prefix of two probe prompts). A state file is found by
a key hashing the engine and its library version, the model file's identity (path, size, mtime),
the chat template and the prefix ids (which hold the system prompt as the template renders it),
so any change to one of them misses the old file. A file that cannot be read, or whose ids do not
match, is ignored with a log line; files are written to a temporary name and renamed, so a crash
never leaves a half-written one under the real name.

The engine-specific readers and writers (llama.cpp sequence state, mlx-lm prompt-cache files,
torch tensors) are at the end.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from studio.engine.base import ChatMessage
from studio.engine.prompt_cache import common_prefix

log = logging.getLogger(__name__)

T = TypeVar("T")
MIN_PREFIX = 8  # shorter prefixes are not worth a file
KEEP_FILES = 8  # per engine, the most recently used (a 7B's state is about 40 MB)
_PROBES = ("a", "b")
_LLAMA_MAGIC = b"STUDIOKV1\n"


def system_prefix(
    encode: Callable[[list[ChatMessage]], list[int]], messages: Sequence[ChatMessage]
) -> list[int]:
    """The prompt ids before the first user message's text: the same for every conversation."""
    head: list[ChatMessage] = [m for m in messages[:1] if m["role"] == "system"]
    a, b = (encode([*head, {"role": "user", "content": p}]) for p in _PROBES)
    return a[: common_prefix(a, b)]


def file_identity(path: str | Path) -> dict[str, object]:
    """Path, size and mtime of a model file, or of every file directly in a model folder."""
    p = Path(path).resolve()
    files = sorted(f for f in p.iterdir() if f.is_file()) if p.is_dir() else [p]
    return {
        "path": str(p),
        "files": [[f.name, (st := f.stat()).st_size, st.st_mtime_ns] for f in files],
    }


class PromptStateStore:
    """State files of one engine in one folder.

    Args:
        root: the folder (created when the first file is saved).
        engine: the engine name (part of the file name and the key).
        version: the engine library's version (a new version misses old files).
    """

    def __init__(self, root: str | Path, engine: str, version: str) -> None:
        self.root = Path(root)
        self.engine, self.version = engine, version
        self._memo: tuple[str, list[int]] | None = None

    def prefix(
        self,
        encode: Callable[[list[ChatMessage]], list[int]],
        messages: Sequence[ChatMessage],
        prompt: list[int],
    ) -> list[int]:
        """The saved-state prefix of ``prompt`` (empty when too short or not a prefix of it)."""
        head = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
        if self._memo is None or self._memo[0] != head:
            self._memo = (head, system_prefix(encode, messages))
        ids = self._memo[1]
        if MIN_PREFIX <= len(ids) < len(prompt) and prompt[: len(ids)] == ids:
            return ids
        return []

    def forget(self) -> None:
        """Drop the remembered prefix (a new model has a new tokenizer)."""
        self._memo = None

    def path(self, model: str | Path, template: str, ids: list[int], suffix: str) -> Path:
        """The state file for this model, template and prefix."""
        data = {
            "engine": self.engine,
            "version": self.version,
            "model": file_identity(model),
            "template": template,
            "ids": ids,
        }
        key = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:40]
        return self.root / f"{self.engine}-{key}{suffix}"

    def load(self, path: Path, read: Callable[[Path], T]) -> T | None:
        """``read(path)``, or None when the file is absent or broken (logged, never raised)."""
        if not path.is_file():
            return None
        try:
            found = read(path)
            os.utime(path)  # recently used: kept by the clean-up in save()
            return found
        except Exception as exc:
            log.warning(
                "ignoring the saved prompt state %s: %s", path.name, (str(exc).splitlines() or [repr(exc)])[0]
            )
            return None

    def save(self, path: Path, write: Callable[[Path], None]) -> None:
        """Write through ``write(tmp)`` into a temporary file, then rename it to ``path``."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=path.suffix)
            os.close(fd)
            try:
                write(Path(tmp))
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            log.info("saved the prompt state %s", path.name)
            self._clean_up()
        except Exception as exc:
            log.warning("cannot save the prompt state %s: %s", path.name, exc)

    def _clean_up(self) -> None:
        """Delete this engine's state files beyond the :data:`KEEP_FILES` most recently used."""
        files = sorted(self.root.glob(f"{self.engine}-*"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in files[KEEP_FILES:]:
            old.unlink(missing_ok=True)


def _check_ids(found: object, ids: list[int]) -> None:
    if found != ids:
        raise ValueError("the file holds other prompt ids")


# ---------------------------------------------------------------------------- llama.cpp


def save_llama(llm: Any, lib: Any, ids: list[int], path: Path) -> None:
    """Sequence 0's KV state (no logits) after exactly ``ids`` were evaluated."""
    ctx = llm._ctx.ctx
    size = int(lib.llama_state_seq_get_size(ctx, 0))
    buf = (ctypes.c_uint8 * size)()
    n = int(lib.llama_state_seq_get_data(ctx, buf, size, 0))
    if n <= 0:
        raise RuntimeError("llama.cpp returned no state")
    header = json.dumps({"ids": ids, "bytes": n}).encode()
    with open(path, "wb") as f:
        f.write(_LLAMA_MAGIC + len(header).to_bytes(8, "little") + header)
        f.write(memoryview(buf)[:n])


def load_llama(llm: Any, lib: Any, ids: list[int], path: Path) -> int:
    """Restore sequence 0 from ``path``; the model then holds ``ids``.

    Raises:
        ValueError: the file is not a state of these ids, or llama.cpp rejects it.
    """
    raw = path.read_bytes()
    if not raw.startswith(_LLAMA_MAGIC):
        raise ValueError("not a prompt state file")
    at = len(_LLAMA_MAGIC)
    hlen = int.from_bytes(raw[at : at + 8], "little")
    header = json.loads(raw[at + 8 : at + 8 + hlen])
    _check_ids(header.get("ids"), ids)
    body = raw[at + 8 + hlen :]
    if len(body) != header.get("bytes"):
        raise ValueError("the file is truncated")
    llm.n_tokens = 0
    llm._ctx.kv_cache_seq_rm(-1, 0, -1)
    buf = (ctypes.c_uint8 * len(body)).from_buffer_copy(body)
    if int(lib.llama_state_seq_set_data(llm._ctx.ctx, buf, len(body), 0)) != len(body):
        llm._ctx.kv_cache_seq_rm(-1, 0, -1)
        raise ValueError("llama.cpp rejected the state")
    llm.input_ids[: len(ids)] = ids
    llm.n_tokens = len(ids)
    return len(ids)


# ---------------------------------------------------------------------------- MLX


def save_mlx(cache: list[Any], ids: list[int], path: Path) -> None:
    """An mlx-lm prompt-cache file (safetensors) with the ids in its metadata."""
    from mlx_lm.models.cache import save_prompt_cache

    save_prompt_cache(str(path), cache, {"ids": json.dumps(ids)})


def load_mlx(ids: list[int], path: Path) -> list[Any]:
    """The cache saved by :func:`save_mlx`, checked to hold ``ids``."""
    from mlx_lm.models.cache import load_prompt_cache

    cache, meta = load_prompt_cache(str(path), return_metadata=True)
    _check_ids(json.loads(meta.get("ids", "null")), ids)
    if {int(c.offset) for c in cache} != {len(ids)}:
        raise ValueError("the cache does not hold the prefix")
    return list(cache)


# ---------------------------------------------------------------------------- torch (CUDA engine)


def _layers(cache: Any) -> list[tuple[Any, Any]]:
    if hasattr(cache, "layers"):  # transformers 5.x
        return [(layer.keys, layer.values) for layer in cache.layers]
    return list(zip(cache.key_cache, cache.value_cache, strict=True))  # transformers 4.x


def save_torch(cache: Any, ids: list[int], path: Path) -> None:
    """The DynamicCache's per-layer keys and values (on the CPU) and the ids, with ``torch.save``."""
    import torch

    kv = [(k.detach().to("cpu"), v.detach().to("cpu")) for k, v in _layers(cache)]
    torch.save({"ids": ids, "kv": kv}, path)


def load_torch(new: Callable[[], Any], device: str, ids: list[int], path: Path) -> Any:
    """A new DynamicCache (from ``new()``) holding the saved keys and values, checked to hold ``ids``."""
    import torch

    data = torch.load(path, map_location=device, weights_only=True)
    _check_ids(data.get("ids"), ids)
    cache = new()
    for i, (k, v) in enumerate(data["kv"]):
        cache.update(k, v, i)
    if cache.get_seq_length() != len(ids):
        raise ValueError("the cache does not hold the prefix")
    return cache


__all__ = [
    "KEEP_FILES",
    "MIN_PREFIX",
    "PromptStateStore",
    "file_identity",
    "load_llama",
    "load_mlx",
    "load_torch",
    "save_llama",
    "save_mlx",
    "save_torch",
    "system_prefix",
]
