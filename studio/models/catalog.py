"""Every Qwen2.5-Coder-Instruct size in the form each engine loads, and whether it fits this machine.

Entries (six sizes x engine x quantization):

- ``mlx``: ``mlx-community/Qwen2.5-Coder-<S>-Instruct-4bit`` (default) and ``-8bit``.
- ``llamacpp``: Qwen's official GGUF builds, Q4_K_M (default) and Q8_0 — taken from
  :func:`studio.models.llamacpp_catalog.gguf_entries` (its sizes and file patterns are the truth).
- ``cuda``: the official unquantized ``Qwen/Qwen2.5-Coder-<S>-Instruct`` (a bf16 download) in the two
  forms :class:`studio.engine.cuda.CudaEngine` loads it: ``nf4`` (default: bitsandbytes 4-bit NF4,
  quantized while loading) and ``bf16``. Both download the same repository; memory is for the loaded
  form (:mod:`studio.models.cuda_catalog` computes the bytes from each size's shape). Why NF4 and not
  a pre-quantized AWQ/GPTQ repo: see the :mod:`studio.engine.cuda` docstring.

Memory needed to run (GB, GiB-ish, approximate)::

    memory_gb = weights_gb + kv_cache_gb(8192 tokens) + 0.10 * weights_gb + 0.5

weights_gb is the download size (the weights are loaded as stored), except for ``cuda:*:nf4`` where it
is the NF4 size in GPU memory (memory is GPU memory for the cuda entries); the KV cache is fp16,
``2 (K and V) * layers * kv_heads * head_dim * 2 bytes * 8192 tokens`` from each size's config.json;
10% of the weights plus 0.5 GB cover compute buffers, the tokenizer and the runtime.

Download sizes: GGUF from the repositories' file listings (llamacpp_catalog); MLX and bf16 estimated
from the parameter count (bf16: 16 bits per weight; MLX 4-bit with group-64 scales and biases: 4.5 bits;
8-bit: 8.5 bits).

Context length, from Qwen's model cards: 0.5B, 1.5B and 3B have 32,768 tokens; 7B, 14B and 32B are
32,768 as shipped (config.json) and 131,072 with YaRN rope scaling switched on (``rope_scaling``
``{"type": "yarn", "factor": 4.0}``), which the card recommends only for long inputs.

Licence: Apache-2.0 for every size EXCEPT 3B, which is under the Qwen Research License
(``license_name: qwen-research`` on the Qwen/Qwen2.5-Coder-3B-Instruct card: non-commercial / research
use; read its LICENSE before using it commercially). Quantized repos inherit the licence of the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from studio.models.cuda_catalog import CUDA_QUANTS
from studio.models.cuda_catalog import weights_gb as cuda_weights_gb
from studio.models.llamacpp_catalog import DEFAULT_QUANT, SIZES, gguf_entries
from studio.models.sysinfo import Memory

APACHE = "Apache-2.0"
QWEN_RESEARCH = "Qwen Research License"
DEFAULT_CONTEXT = 8192  # the context the memory figure is computed for
ENGINES = ("mlx", "llamacpp", "cuda")

Fit = Literal["comfortable", "tight", "too large"]
COMFORTABLE_SHARE = 0.8  # comfortable: needs at most 80% of the usable memory


@dataclass(frozen=True, slots=True)
class _Arch:
    params_b: float  # billions of parameters
    layers: int
    kv_heads: int
    head_dim: int
    yarn: bool  # 128k context with YaRN


# From each size's config.json (num_hidden_layers, num_key_value_heads, hidden_size / num_attention_heads).
ARCH: dict[str, _Arch] = {
    "0.5B": _Arch(0.49, 24, 2, 64, False),
    "1.5B": _Arch(1.54, 28, 2, 128, False),
    "3B": _Arch(3.09, 36, 2, 128, False),
    "7B": _Arch(7.61, 28, 4, 128, True),
    "14B": _Arch(14.7, 48, 8, 128, True),
    "32B": _Arch(32.5, 64, 8, 128, True),
}

_MLX_BITS = {"4bit": 4.5, "8bit": 8.5}


@dataclass(frozen=True, slots=True)
class Entry:
    """One model in one form one engine loads.

    Attributes:
        id: ``"<engine>:<size>:<quantization>"``, e.g. ``"mlx:7B:4bit"``.
        engine: "mlx", "llamacpp" or "cuda".
        size: "0.5B" ... "32B".
        repo: the Hugging Face repository.
        quantization: "4bit"/"8bit" (MLX), "q4_k_m"/"q8_0" (GGUF), "nf4"/"bf16" (CUDA).
        download_gb: about how many GB to download.
        memory_gb: about how much memory running it takes (8k context; see the module docstring).
        context_length: native context in tokens (32,768).
        context_length_yarn: with YaRN (131,072 for 7B and up), else None.
        licence: "Apache-2.0" or "Qwen Research License" (3B).
        default: the quantization offered first for this size and engine.
        pattern: the files to download (GGUF shards), or None for the whole repository.
        label: a human name, e.g. "Qwen2.5-Coder-7B-Instruct MLX 4-bit".
    """

    id: str
    engine: str
    size: str
    repo: str
    quantization: str
    download_gb: float
    memory_gb: float
    context_length: int
    context_length_yarn: int | None
    licence: str
    default: bool
    pattern: str | None
    label: str

    @property
    def params_b(self) -> float:
        return ARCH[self.size].params_b

    @property
    def apache(self) -> bool:
        return self.licence == APACHE


def kv_cache_gb(size: str, tokens: int = DEFAULT_CONTEXT) -> float:
    """fp16 K and V for ``tokens`` tokens, in GB."""
    a = ARCH[size]
    return 2 * a.layers * a.kv_heads * a.head_dim * 2 * tokens / 1024**3


def memory_needed_gb(size: str, weights_gb: float, tokens: int = DEFAULT_CONTEXT) -> float:
    """weights + KV cache + 10% of the weights + 0.5 GB (see the module docstring)."""
    return round(weights_gb * 1.10 + kv_cache_gb(size, tokens) + 0.5, 2)


def licence_of(size: str) -> str:
    return QWEN_RESEARCH if size == "3B" else APACHE


def _entry(
    engine: str,
    size: str,
    repo: str,
    quant: str,
    gb: float,
    default: bool,
    pattern: str | None,
    label: str,
    loaded_gb: float | None = None,
) -> Entry:
    a = ARCH[size]
    return Entry(
        id=f"{engine}:{size}:{quant}",
        engine=engine,
        size=size,
        repo=repo,
        quantization=quant,
        download_gb=round(gb, 2),
        memory_gb=memory_needed_gb(size, gb if loaded_gb is None else loaded_gb),
        context_length=32768,
        context_length_yarn=131072 if a.yarn else None,
        licence=licence_of(size),
        default=default,
        pattern=pattern,
        label=label,
    )


def catalog() -> list[Entry]:
    """Every entry: by engine (mlx, llamacpp, cuda), then size (smallest first), default first."""
    out: list[Entry] = []
    for size in SIZES:
        for quant, bits in _MLX_BITS.items():
            out.append(
                _entry(
                    "mlx",
                    size,
                    f"mlx-community/Qwen2.5-Coder-{size}-Instruct-{quant}",
                    quant,
                    ARCH[size].params_b * bits / 8,
                    quant == "4bit",
                    None,
                    f"Qwen2.5-Coder-{size}-Instruct MLX {quant[0]}-bit",
                )
            )
    for g in gguf_entries():
        out.append(
            _entry(
                "llamacpp", g.size, g.repo, g.quant, g.approx_gb, g.quant == DEFAULT_QUANT, g.pattern, g.label
            )
        )
    for size in SIZES:
        for quant in CUDA_QUANTS:
            out.append(
                _entry(
                    "cuda",
                    size,
                    f"Qwen/Qwen2.5-Coder-{size}-Instruct",
                    quant,
                    ARCH[size].params_b * 2,  # both forms download the bf16 repository
                    quant == "nf4",
                    None,
                    f"Qwen2.5-Coder-{size}-Instruct {'NF4 4-bit' if quant == 'nf4' else 'bf16'} (CUDA)",
                    loaded_gb=cuda_weights_gb(size, quant),
                )
            )
    return out


def entries_for(engine: str) -> list[Entry]:
    return [e for e in catalog() if e.engine == engine]


def find(entry_id: str) -> Entry | None:
    return next((e for e in catalog() if e.id == entry_id), None)


# Speculative decoding with a draft model: Qwen2.5-Coder-0.5B shares the tokenizer of the larger
# sizes and drafts for them on Apple Silicon (MLX 4-bit) and CUDA (bf16: small enough that NF4 would
# only cost dequantization time). Smaller targets gain too little over the draft's own cost.
DRAFTED_SIZES = ("7B", "14B", "32B")
DRAFT_FORMS = {"mlx": "mlx:0.5B:4bit", "cuda": "cuda:0.5B:bf16"}


def draft_for(entry: Entry) -> Entry | None:
    """The catalog's draft-model pairing for ``entry`` (None where there is none)."""
    if entry.size not in DRAFTED_SIZES or entry.engine not in DRAFT_FORMS:
        return None
    return find(DRAFT_FORMS[entry.engine])


def engine_note(engine: str) -> str:
    """How the catalog names the engine ("cuda (PyTorch)" for the CUDA one)."""
    return "cuda (PyTorch)" if engine == "cuda" else engine


# On a CPU alone decoding is bound by memory bandwidth: tok/s is about bandwidth / weight bytes. A desktop's
# 40-80 GB/s gives a 7B Q4 (4.7 GB) 8-15 tok/s but a 14B Q4 (9 GB) 4-8, so a 2,000-token artifact would
# take 4-8 minutes. Without a GPU (Metal or CUDA) the recommendation stops at this size.
CPU_MAX_SIZE = "7B"


def accelerated(engine: str) -> bool:
    """Whether ``engine`` runs on a GPU here: MLX on Metal, llama.cpp on Metal or CUDA, cuda with a GPU."""
    from studio.models.sysinfo import has_cuda, has_metal

    if engine == "mlx":
        return has_metal()
    if engine == "llamacpp":
        return has_metal() or has_cuda()
    return engine == "cuda" and has_cuda()


def device_memory(engine: str, memory: Memory) -> Memory:
    """The memory ``engine``'s models live in: the GPU's for cuda when nvidia-smi tells, else ``memory``."""
    if engine == "cuda" and not memory.gpu:
        from studio.models.sysinfo import gpu_memory

        return gpu_memory() or memory
    return memory


def fit(entry: Entry, memory: Memory) -> Fit:
    """Return "comfortable" when it needs at most 80% of the usable memory, "tight" up to all of it, else
    "too large". Usable memory: 70% of RAM on Apple Silicon, 80% elsewhere (see sysinfo); for the cuda
    engine, 80% of the GPU's memory when an NVIDIA GPU is found."""
    usable = device_memory(entry.engine, memory).usable_gb
    if entry.memory_gb <= usable * COMFORTABLE_SHARE:
        return "comfortable"
    if entry.memory_gb <= usable:
        return "tight"
    return "too large"


def recommend(engine: str, memory: Memory, *, apache_only: bool = False, gpu: bool | None = None) -> Entry:
    """The largest comfortable entry for ``engine``: the biggest size with a comfortable form, its
    default quantization when that is comfortable. When nothing is comfortable, the smallest entry
    (the 0.5B default). ``apache_only`` leaves out the 3B (Qwen Research License).

    Args:
        engine: "mlx", "llamacpp" or "cuda".
        memory: the machine's memory (sysinfo.memory()).
        apache_only: leave out the 3B.
        gpu: whether the engine runs on a GPU (None: detect with :func:`accelerated`); without one the
            recommendation stops at :data:`CPU_MAX_SIZE` (speed, not memory, is the limit there).

    Raises:
        ValueError: unknown engine.
    """
    entries = [e for e in entries_for(engine) if e.apache or not apache_only]
    if not entries:
        raise ValueError(f"no catalog entries for engine {engine!r}; known: {', '.join(ENGINES)}")
    on_gpu = accelerated(engine) if gpu is None else gpu
    cap = float("inf") if on_gpu else ARCH[CPU_MAX_SIZE].params_b
    comfortable = [e for e in entries if fit(e, memory) == "comfortable" and e.params_b <= cap]
    if not comfortable:
        return min(entries, key=lambda e: (e.memory_gb, not e.default))
    return max(comfortable, key=lambda e: (e.params_b, e.default, e.memory_gb))


def fit_warning(entry: Entry, memory: Memory) -> str | None:
    """A sentence to show before loading ``entry``; None when it fits comfortably."""
    verdict = fit(entry, memory)
    if verdict == "comfortable":
        return None
    device = device_memory(entry.engine, memory)
    need, usable = entry.memory_gb, device.usable_gb
    if device.gpu:
        where = "of GPU memory a model can use"
    else:
        where = "of unified memory a model can use" if device.unified else "of memory a model can use"
    if verdict == "tight":
        return (
            f"{entry.label} needs about {need:.1f} GB and this machine has about {usable:.1f} GB "
            f"{where}: it will load, but close other apps, and long chats may slow down or fail."
        )
    smaller = recommend(entry.engine, memory)
    return (
        f"{entry.label} needs about {need:.1f} GB but this machine has only about {usable:.1f} GB "
        f"{where}: it will not fit (expect swapping or a crash). Try {smaller.label} instead."
    )


__all__ = [
    "APACHE",
    "CPU_MAX_SIZE",
    "DEFAULT_CONTEXT",
    "DRAFTED_SIZES",
    "DRAFT_FORMS",
    "ENGINES",
    "QWEN_RESEARCH",
    "Entry",
    "Fit",
    "accelerated",
    "catalog",
    "device_memory",
    "draft_for",
    "engine_note",
    "entries_for",
    "find",
    "fit",
    "fit_warning",
    "kv_cache_gb",
    "licence_of",
    "memory_needed_gb",
    "recommend",
]
