"""How much memory this machine has, and how much of it a model may use (stdlib only).

Linux reads ``/proc/meminfo``; macOS asks ``sysctl hw.memsize`` (and ``vm_stat`` for what is free);
Windows calls ``GlobalMemoryStatusEx`` through ctypes. On Apple Silicon the GPU shares the RAM
(unified memory) and macOS lets Metal wire only part of it, so a model may use about 70% of RAM;
elsewhere we count 80% of RAM as usable (the rest for the OS, the studio and the browser sandbox).
An NVIDIA GPU's memory is read with ``nvidia-smi`` (:func:`gpu_memory`); the CUDA engine's models are
checked against it (80% usable: the CUDA context and other programs take the rest).

:func:`preferred_engine` is the one engine preference order (the "auto" engine, the catalog's order,
``models pull 7B``).
"""

from __future__ import annotations

import functools
import importlib.util
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

GB = 1024**3
UNIFIED_USABLE = 0.70  # Apple Silicon: share of RAM a model can use
RAM_USABLE = 0.80  # other machines


@dataclass(frozen=True, slots=True)
class Memory:
    """The memory a model can use on one machine.

    Attributes:
        total_gb: physical RAM in GB (GiB).
        available_gb: free now (reclaimable caches count as free); None when unknown.
        unified: Apple Silicon unified memory (GPU and CPU share the RAM).
        gpu: the memory of a discrete GPU (VRAM), not the machine's RAM.
    """

    total_gb: float
    available_gb: float | None = None
    unified: bool = False
    gpu: bool = False

    @property
    def usable_gb(self) -> float:
        """What a model may take: 70% of RAM on Apple Silicon, else 80%."""
        return self.total_gb * (UNIFIED_USABLE if self.unified else RAM_USABLE)

    @classmethod
    def of(cls, total_gb: float, *, unified: bool = False, gpu: bool = False) -> Memory:
        """A machine with ``total_gb`` of RAM, or a GPU with that much memory (for tests and what-ifs)."""
        return cls(total_gb=float(total_gb), available_gb=None, unified=unified, gpu=gpu)


def _linux(meminfo: Path = Path("/proc/meminfo")) -> tuple[float, float | None]:
    values: dict[str, int] = {}
    for line in meminfo.read_text().splitlines():
        m = re.match(r"(\w+):\s+(\d+)\s*kB", line)
        if m:
            values[m.group(1)] = int(m.group(2)) * 1024
    total = values["MemTotal"]
    avail = values.get("MemAvailable")
    if avail is None and "MemFree" in values:
        avail = values["MemFree"] + values.get("Cached", 0) + values.get("Buffers", 0)
    return total / GB, (avail / GB if avail is not None else None)


def _macos() -> tuple[float, float | None]:
    total = int(
        subprocess.run(
            ["sysctl", "-n", "hw.memsize"], capture_output=True, text=True, check=True, timeout=5
        ).stdout.strip()
    )
    avail: float | None = None
    try:
        out = subprocess.run(["vm_stat"], capture_output=True, text=True, check=True, timeout=5).stdout
        page = int(re.search(r"page size of (\d+)", out).group(1))  # type: ignore[union-attr]
        pages = {k.strip(): int(v.strip(" .")) for k, v in re.findall(r"^([^:\n]+):\s+(\d+)\.?$", out, re.M)}
        free = sum(pages.get(k, 0) for k in ("Pages free", "Pages inactive", "Pages speculative"))
        avail = free * page / GB
    except (OSError, subprocess.SubprocessError, AttributeError, ValueError):
        pass
    return total / GB, avail


def _windows() -> tuple[float, float | None]:
    import ctypes

    class MEMORYSTATUSEX(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    stat = MEMORYSTATUSEX()
    stat.dwLength = ctypes.sizeof(MEMORYSTATUSEX)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(stat)):  # type: ignore[attr-defined]
        raise OSError("GlobalMemoryStatusEx failed")
    return stat.ullTotalPhys / GB, stat.ullAvailPhys / GB


def memory() -> Memory:
    """This machine's memory. Raises OSError when it cannot be told."""
    try:
        if sys.platform.startswith("linux"):
            total, avail = _linux()
        elif sys.platform == "darwin":
            total, avail = _macos()
        elif sys.platform == "win32":
            total, avail = _windows()
        else:
            raise OSError(f"memory detection not supported on {sys.platform}")
    except (KeyError, ValueError, subprocess.SubprocessError) as exc:
        raise OSError(f"could not read this machine's memory: {exc}") from exc
    return Memory(total_gb=total, available_gb=avail, unified=has_metal())


@functools.cache
def gpu_memory() -> Memory | None:
    """The largest NVIDIA GPU's memory (``nvidia-smi``), or None without one. Asked once per process."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
        mib = [float(line) for line in out.split() if line.strip()]
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return Memory(total_gb=max(mib) / 1024, gpu=True) if mib else None


def has_metal() -> bool:
    """Apple Silicon under macOS (MLX's Metal backend)."""
    return sys.platform == "darwin" and platform.machine() == "arm64"


def has_cuda() -> bool:
    """An NVIDIA driver is present (cheap checks; no torch import)."""
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def llama_cpp_installed() -> bool:
    """llama-cpp-python is importable (found, not imported)."""
    return importlib.util.find_spec("llama_cpp") is not None


def preferred_engine(
    available: set[str] | frozenset[str],
    *,
    metal: bool | None = None,
    cuda: bool | None = None,
    llama_cpp: bool | None = None,
) -> str:
    """The engine to use by default on this machine, among ``available`` engine names.

    Apple Silicon: mlx. An NVIDIA GPU: cuda when registered. Otherwise llama.cpp when installed
    (about ten times MLX's CPU build here), else mlx. The keyword arguments override detection.
    """
    metal = has_metal() if metal is None else metal
    cuda = has_cuda() if cuda is None else cuda
    llama_cpp = llama_cpp_installed() if llama_cpp is None else llama_cpp
    if metal and "mlx" in available:
        return "mlx"
    if cuda and "cuda" in available:
        return "cuda"
    if llama_cpp and "llamacpp" in available:
        return "llamacpp"
    return "mlx" if "mlx" in available or not available else sorted(available)[0]


__all__ = [
    "Memory",
    "gpu_memory",
    "has_cuda",
    "has_metal",
    "llama_cpp_installed",
    "memory",
    "preferred_engine",
]
