"""Qwen's official GGUF builds of Qwen2.5-Coder-Instruct.

Qwen publishes one ``Qwen/Qwen2.5-Coder-<size>-Instruct-GGUF`` repository per size. Large files
are split (``...-q8_0-00001-of-00003.gguf``), so a quantization is a file *pattern*: download
every match (``huggingface_hub.snapshot_download(repo, allow_patterns=[pattern])``) and load the
folder; :func:`studio.engine.llamacpp_files.resolve_gguf` picks the first shard.

Sizes are approximate (GB on disk, from the repositories' file listings), for a memory-fit check.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_QUANT = "q4_k_m"
QUALITY_QUANT = "q8_0"
SIZES = ("0.5B", "1.5B", "3B", "7B", "14B", "32B")

# (size, quant) -> approximate GB on disk.
_APPROX_GB = {
    ("0.5B", "q4_k_m"): 0.49,
    ("0.5B", "q8_0"): 0.68,
    ("1.5B", "q4_k_m"): 1.1,
    ("1.5B", "q8_0"): 1.9,
    ("3B", "q4_k_m"): 2.1,
    ("3B", "q8_0"): 3.6,
    ("7B", "q4_k_m"): 4.7,
    ("7B", "q8_0"): 8.1,
    ("14B", "q4_k_m"): 9.0,
    ("14B", "q8_0"): 15.7,
    ("32B", "q4_k_m"): 19.9,
    ("32B", "q8_0"): 34.8,
}


@dataclass(frozen=True, slots=True)
class GGUFEntry:
    """One downloadable GGUF quantization of one model size.

    Attributes:
        size: "0.5B" ... "32B".
        quant: llama.cpp's quantization name in lower case ("q4_k_m", "q8_0").
        repo: the Hugging Face repository.
        pattern: the file pattern to download (matches every shard of a split file).
        approx_gb: about how many GB the files take (and the weights take in memory).
        default: the quantization offered first for this size.
    """

    size: str
    quant: str
    repo: str
    pattern: str
    approx_gb: float
    default: bool

    @property
    def label(self) -> str:
        note = " (default)" if self.default else " (quality)" if self.quant == QUALITY_QUANT else ""
        return f"Qwen2.5-Coder-{self.size}-Instruct {self.quant.upper()}{note}"


def gguf_entries() -> list[GGUFEntry]:
    """Every size x {Q4_K_M, Q8_0}, smallest first, Q4_K_M (the default) before Q8_0."""
    out = []
    for size in SIZES:
        for quant in (DEFAULT_QUANT, QUALITY_QUANT):
            out.append(
                GGUFEntry(
                    size=size,
                    quant=quant,
                    repo=f"Qwen/Qwen2.5-Coder-{size}-Instruct-GGUF",
                    pattern=f"qwen2.5-coder-{size.lower()}-instruct-{quant}*.gguf",
                    approx_gb=_APPROX_GB[(size, quant)],
                    default=quant == DEFAULT_QUANT,
                )
            )
    return out


__all__ = ["DEFAULT_QUANT", "QUALITY_QUANT", "GGUFEntry", "gguf_entries"]
