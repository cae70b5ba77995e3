"""llama.cpp plumbing for the engine: import the library, find and check GGUF files, read metadata.

No llama_cpp import at module level, so the file checks run (and are tested) without the extra.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
from pathlib import Path
from typing import Any

from studio.engine.base import EngineError, ModelLoadError
from studio.engine.modelcheck import looks_like_repo_id, resolve_model

INSTALL_HINT = "pip install 'artifacts-studio[llamacpp]'"
GGUF_MAGIC = b"GGUF"

# llama.cpp's llama_ftype values (general.file_type) for the quantizations we name.
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    32: "BF16",
}

_SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
# Quantizations a folder's files are chosen by, best default first.
_PREFERRED = ("q4_k_m", "q8_0", "q5_k_m", "q6_k", "q4_0", "f16")


def import_llama_cpp() -> Any:
    """Import llama_cpp, or say in one sentence how to install it.

    Raises:
        EngineError: llama-cpp-python is not installed (or its native library does not load).
    """
    try:
        import llama_cpp
    except ImportError as exc:
        raise EngineError(
            f"the llamacpp engine needs llama-cpp-python ({exc.name or 'llama_cpp'} is not importable): "
            f"{INSTALL_HINT} (it compiles llama.cpp; several minutes)"
        ) from None
    except OSError as exc:  # the shared library is there but does not load
        raise EngineError(f"llama-cpp-python is installed but its library does not load: {exc}") from None
    return llama_cpp


def _check_gguf(path: Path) -> Path:
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelLoadError(f"cannot read {path}: {exc.strerror or exc}") from None
    if magic != GGUF_MAGIC:
        raise ModelLoadError(f"{path.name} is not a GGUF file (the llamacpp engine loads .gguf models)")
    if path.stat().st_size < 64:
        raise ModelLoadError(f"{path.name} is truncated ({path.stat().st_size} bytes)")
    m = _SHARD.search(path.name)
    if m:
        total = m.group(2)
        shards = [
            path.with_name(_SHARD.sub(f"-{i:05d}-of-{total}.gguf", path.name))
            for i in range(1, int(total) + 1)
        ]
        missing = [p.name for p in shards if not p.is_file()]
        if missing:
            raise ModelLoadError(f"GGUF shard {missing[0]} is missing next to {path.name}")
        first = shards[0]
        return first  # llama.cpp loads a split model from its first shard
    return path


def _pick_in_folder(folder: Path) -> Path:
    files = sorted(p for p in folder.glob("*.gguf") if p.is_file())
    heads = [p for p in files if not _SHARD.search(p.name) or "-00001-of-" in p.name]
    if not heads:
        raise ModelLoadError(f"no .gguf file in {folder}")
    if len(heads) == 1:
        return heads[0]
    for quant in _PREFERRED:
        match = [p for p in heads if quant in p.name.lower()]
        if len(match) == 1:
            return match[0]
    names = ", ".join(p.name for p in heads)
    raise ModelLoadError(f"{folder} holds several GGUF files ({names}); pass one of them")


def resolve_gguf(model: str, *, cache_dir: str | Path | None = None) -> Path:
    """The GGUF file to load for ``model``: a .gguf file, a folder holding one, or a cached repo id.

    A split model (``name-00001-of-00003.gguf``) resolves to its first shard once every shard is
    there. A folder with several quantizations picks Q4_K_M, then Q8_0, ...

    Raises:
        ModelLoadError: nothing loadable, in one sentence.
    """
    path = Path(model).expanduser()
    if not path.exists():
        if not looks_like_repo_id(model):
            raise ModelLoadError(f"model file not found: {model}")
        path = resolve_model(model, cache_dir=cache_dir)
    if path.is_dir():
        path = _pick_in_folder(path)
    return _check_gguf(path)


def file_type_name(value: object) -> str | None:
    """The quantization name for a GGUF ``general.file_type`` value (a str or int), if known."""
    try:
        return FILE_TYPES.get(int(str(value)))
    except ValueError:
        return None


def context_length(lib: Any, path: Path) -> int:
    """The model's training context from its GGUF metadata (0 if absent), without a full load.

    Raises:
        ModelLoadError: llama.cpp cannot read the file (bad header, unknown architecture...).
    """
    params = lib.llama_model_default_params()
    params.vocab_only = True
    model = lib.llama_model_load_from_file(str(path).encode(), params)
    if not model:
        raise ModelLoadError(f"llama.cpp cannot read {path.name} (a damaged or unsupported GGUF file)")
    try:
        buf = ctypes.create_string_buffer(128)
        if lib.llama_model_meta_val_str(model, b"general.architecture", buf, len(buf)) < 0:
            return 0
        key = buf.value + b".context_length"
        if lib.llama_model_meta_val_str(model, key, buf, len(buf)) < 0:
            return 0
        return int(buf.value or 0)
    finally:
        lib.llama_model_free(model)


_log_callback: Any = None


def route_llama_logs(lib: Any) -> None:
    """Send llama.cpp's own log lines to our logger (DEBUG; its errors INFO), not to stderr."""
    global _log_callback
    if _log_callback is not None:
        return
    llama_log = logging.getLogger("studio.engine.llamacpp")  # llama.cpp's own log, under its engine

    @lib.llama_log_callback
    def forward(level: int, text: bytes, user_data: Any) -> None:
        line = text.decode("utf-8", "replace").rstrip()
        if line:
            llama_log.log(logging.INFO if level == 3 else logging.DEBUG, "%s", line)

    _log_callback = forward  # keep the ctypes callback alive
    lib.llama_log_set(forward, ctypes.c_void_p(0))


def usable_cores() -> int:
    """CPU cores this process may run on (llama-cpp-python's own default is half the count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)
