"""The CUDA engine's setup: options, device choice, load plan, model loading and clear errors.

Nothing here imports torch at module level: the engine passes the module in once it has
imported it on its worker thread.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.engine.base import EngineError, ModelLoadError
from studio.engine.modelcheck import ModelFolder

log = logging.getLogger(__name__)

INSTALL = "pip install 'artifacts-studio[cuda]'"
NEEDS_TORCH = f"the CUDA engine needs PyTorch: {INSTALL}"
QUANTIZATIONS = ("auto", "nf4", "bf16", "fp16", "fp32")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32", "nf4": "bfloat16"}


def check_options(device: str, quantization: str) -> tuple[str, str]:
    """Normalize and validate the constructor's options (no torch needed).

    Raises:
        EngineError: an unknown device or quantization, or PyTorch / transformers not installed.
    """
    dev, quant = device.strip().lower(), quantization.strip().lower()
    if not _DEVICE.match(dev):
        raise EngineError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N")
    if quant not in QUANTIZATIONS:
        raise EngineError(f"unknown quantization {quantization!r}: use {', '.join(QUANTIZATIONS)}")
    if importlib.util.find_spec("torch") is None:
        raise EngineError(NEEDS_TORCH)
    if importlib.util.find_spec("transformers") is None:
        raise EngineError(f"the CUDA engine needs transformers: {INSTALL}")
    return dev, quant


TRITON_AFTER_WEB = (
    "the CUDA engine cannot start in this window: its triton library crashes a process whose web view "
    "is already running; restart the studio with the CUDA engine chosen (artifacts-studio --engine cuda)"
)


def preload_triton() -> bool:
    """Load triton now, before QtWebEngine starts: loaded after it, the process dies (SIGSEGV).

    transformers' models import torch._dynamo, which loads triton's extension. Returns whether it loaded.
    """
    if "triton" in sys.modules:
        return True
    if importlib.util.find_spec("triton") is None:
        return False
    try:
        import triton  # noqa: F401
    except Exception as exc:  # a broken triton: the engine reports it when it loads
        log.warning("triton did not load early: %s", exc)
        return False
    return True


def triton_would_crash() -> bool:
    """Whether loading a model now would load triton into a process where QtWebEngine already runs."""
    return (
        "PySide6.QtWebEngineCore" in sys.modules
        and "triton" not in sys.modules
        and importlib.util.find_spec("triton") is not None
    )


def import_torch() -> Any:
    """Import torch (on the worker thread), with the install hint when it is broken or missing."""
    if triton_would_crash():
        raise ModelLoadError(TRITON_AFTER_WEB)
    try:
        import torch
    except ImportError as exc:
        raise ModelLoadError(f"{NEEDS_TORCH} ({exc})") from None
    return torch


def has_bitsandbytes() -> bool:
    """Whether NF4 can load: transformers' bitsandbytes path needs bitsandbytes and accelerate."""
    return all(importlib.util.find_spec(m) is not None for m in ("bitsandbytes", "accelerate"))


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (x86 AVX512-BF16 / AMX, ARM FEAT_BF16)."""
    if sys.platform.startswith("linux"):
        try:
            text = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return False
        flags = set(re.findall(r"\b(avx512_bf16|amx_bf16|bf16)\b", text))
        return bool(flags)
    if sys.platform == "darwin":
        try:
            out = subprocess.run(
                ["sysctl", "-n", "hw.optional.arm.FEAT_BF16"], capture_output=True, text=True, timeout=5
            )
        except (OSError, subprocess.SubprocessError):
            return False
        return out.stdout.strip() == "1"
    return False


def resolve_device(torch: Any, device: str) -> str:
    """``auto`` -> ``cuda`` when PyTorch sees a GPU, else ``cpu``; check that the one asked for exists.

    Raises:
        ModelLoadError: the device asked for is not there, in one sentence.
    """
    if device == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            if torch.version.cuda is None:
                why = f"this PyTorch ({torch.__version__}) is a CPU-only build (install a CUDA build)"
            else:
                why = (
                    f"PyTorch {torch.__version__} (CUDA {torch.version.cuda}) finds no usable NVIDIA GPU "
                    "(no GPU or driver, or CUDA_VISIBLE_DEVICES hides it)"
                )
            raise ModelLoadError(
                f"device {device!r} was requested but {why}; choose device cpu to run on the CPU"
            )
        index = int(device.partition(":")[2] or 0)
        count = torch.cuda.device_count()
        if index >= count:
            raise ModelLoadError(f"device {device!r} does not exist: PyTorch sees {count} CUDA GPU(s)")
        return f"cuda:{index}"
    if device == "mps" and not torch.backends.mps.is_available():
        raise ModelLoadError("device 'mps' was requested but PyTorch finds no Apple GPU (MPS)")
    return device


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """How to load a folder: the torch dtype name, the quantization label, and whether NF4 applies."""

    dtype: str
    quantization: str
    nf4: bool = False
    prequantized: bool = False


def plan_load(torch: Any, device: str, quantization: str, folder: ModelFolder) -> LoadPlan:
    """Decide dtype and quantization (see the :mod:`studio.engine.cuda` docstring for why).

    Raises:
        ModelLoadError: the folder or the option cannot work on this device.
    """
    config = folder.config
    quant_config, mlx_quant = config.get("quantization_config"), config.get("quantization")
    if isinstance(mlx_quant, dict) and not isinstance(quant_config, dict):
        raise ModelLoadError(
            f"{folder.path} holds MLX-quantized weights, which transformers cannot load; use the "
            "unquantized repository (e.g. Qwen/Qwen2.5-Coder-7B-Instruct) or the mlx engine"
        )
    cuda = device.startswith("cuda")
    if isinstance(quant_config, dict):  # AWQ / GPTQ / bitsandbytes folders load as they were saved
        method = str(quant_config.get("quant_method", "quantized"))
        return LoadPlan("bfloat16" if cuda else "float32", method, prequantized=True)
    if quantization == "auto":
        if not cuda:  # bf16 where the CPU has it (about 2x faster decode, measured), else fp32
            quantization = "bf16" if cpu_has_bf16() else "fp32"
        elif has_bitsandbytes():
            quantization = "nf4"
        else:
            log.warning(
                "bitsandbytes is not installed: loading bf16 (pip install bitsandbytes for NF4 4-bit)"
            )
            quantization = "bf16"
    if quantization == "nf4":
        if not cuda:
            raise ModelLoadError(f"NF4 (bitsandbytes) runs on CUDA GPUs only; use bf16 or fp32 on {device}")
        if not has_bitsandbytes():
            raise ModelLoadError(
                "NF4 4-bit needs bitsandbytes and accelerate: pip install bitsandbytes accelerate"
            )
    dtype = _DTYPES[quantization]
    if cuda and dtype == "bfloat16" and not torch.cuda.is_bf16_supported():
        log.info("this GPU has no bf16: computing in fp16")
        dtype = "float16"
        quantization = "fp16" if quantization == "bf16" else quantization
    return LoadPlan(dtype, quantization, nf4=quantization == "nf4")


def load_model(torch: Any, folder: ModelFolder, device: str, plan: LoadPlan) -> Any:
    """``AutoModelForCausalLM.from_pretrained`` for the plan, straight onto ``device``, in eval mode."""
    import transformers
    from transformers import AutoModelForCausalLM

    transformers.utils.logging.disable_progress_bar()  # no tqdm bars in the app or the CLI
    dtype = getattr(torch, plan.dtype)
    kwargs: dict[str, Any] = {"dtype": dtype, "local_files_only": True}
    if plan.nf4:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=dtype,
            bnb_4bit_use_double_quant=True,
        )
    if device != "cpu":
        kwargs["device_map"] = {"": device}
    model = AutoModelForCausalLM.from_pretrained(str(folder.path), **kwargs)
    return model.eval()


def transformers_supports(model_type: str) -> bool:
    """Whether the installed transformers has a causal-LM class for ``model_type``."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    return model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES


def eos_ids(model: Any, tokenizer: Any) -> set[int]:
    """Stop ids: the tokenizer's eos, config and generation_config eos ids, and <|im_end|> if known."""
    ids: set[int] = set()
    for value in (
        tokenizer.eos_token_id,
        getattr(model.config, "eos_token_id", None),
        getattr(getattr(model, "generation_config", None), "eos_token_id", None),
    ):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(im_end, int) and im_end != tokenizer.unk_token_id:
        ids.add(im_end)
    return ids


def is_oom(torch: Any, exc: BaseException) -> bool:
    oom = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    return isinstance(exc, (oom, MemoryError))


def oom_message(torch: Any, device: str, what: str) -> str:
    """One line for an out-of-memory error, naming a model that fits (catalog.recommend)."""
    from studio.models import catalog
    from studio.models.sysinfo import GB, Memory, memory

    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(device))
        mem, where = Memory.of(props.total_memory / GB), f"{props.name}, {props.total_memory / GB:.0f} GB"
    else:
        try:
            mem, where = memory(), "RAM"
        except OSError:
            mem, where = Memory.of(8), "RAM"
        mem = Memory.of(mem.total_gb)
        where = f"{mem.total_gb:.0f} GB {where}"
    smaller = catalog.recommend("cuda", mem)
    return f"out of memory {what} on {device} ({where}): try a smaller model such as {smaller.label}"


__all__ = [
    "INSTALL",
    "NEEDS_TORCH",
    "QUANTIZATIONS",
    "LoadPlan",
    "check_options",
    "cpu_has_bf16",
    "eos_ids",
    "has_bitsandbytes",
    "import_torch",
    "is_oom",
    "load_model",
    "oom_message",
    "plan_load",
    "resolve_device",
    "transformers_supports",
]
