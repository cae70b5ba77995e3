"""Install a local engine's library from the app (a source checkout's first run): pip in a subprocess.

:func:`install_offer` decides whether the welcome view offers llama.cpp: never in the bundle (its
engines are built in), never on Apple silicon (MLX), never when llama_cpp is already importable, never
without pip. :func:`install_engine` runs ``python -m pip install <requirement>`` (the
pinned range from the package's own extras), hands each output line and the build's percentage to a
callback, stops the process tree when cancelled, and turns a failure into one sentence. Import caches
are refreshed afterwards, so the engine loads in the same process, without a restart.

Stdlib only: the tests run it in a fresh virtual environment. pip reads its usual settings from the
environment (``PIP_INDEX_URL``, ``PIP_FIND_LINKS``, ``PIP_NO_INDEX``, proxies).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import platform
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

DIST = "artifacts-studio"
# engine -> (the module its library provides, the pip requirement when the package metadata is absent)
ENGINES = {"llamacpp": ("llama_cpp", "llama-cpp-python>=0.3.36,<0.4")}
# a compile's progress: Make's "[ 45%] Building CXX object ...", Ninja's "[12/160] Building CXX object ..."
_PERCENT = re.compile(r"^\s*\[\s*(\d{1,3})%\]")
_STEPS = re.compile(r"^\s*\[(\d+)/(\d+)\]")


class InstallError(Exception):
    """The install failed; the message is one sentence for the user."""


class InstallCancelled(InstallError):
    """The install was cancelled (pip was stopped)."""


@dataclass(frozen=True, slots=True)
class InstallStep:
    """One line of pip's output.

    Attributes:
        line: the line, stripped.
        percent: the build's percentage when the line carries one (a compile), else None.
    """

    line: str
    percent: int | None


def install_offer(*, frozen: bool | None = None) -> str | None:
    """The engine the welcome view offers to install ("llamacpp"), or None when it must not offer one.

    On Apple silicon MLX is the engine, and a base dependency; elsewhere llama.cpp runs a CPU about ten
    times faster than MLX's CPU build, and it is an extra a source checkout may lack.

    Args:
        frozen: whether this is the bundle (default: ``sys.frozen``, set by PyInstaller).
    """
    if getattr(sys, "frozen", False) if frozen is None else frozen:
        return None  # the bundle ships its engines; pip is not there anyway
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return None
    importlib.invalidate_caches()
    if importlib.util.find_spec(ENGINES["llamacpp"][0]) is not None:
        return None
    if importlib.util.find_spec("pip") is None:
        return None
    return "llamacpp"


def requirement(engine: str) -> str:
    """The pip requirement for ``engine``: the range pinned in the package's extras when installed."""
    fallback = ENGINES[engine][1]
    from importlib.metadata import PackageNotFoundError, requires

    try:
        reqs = requires(DIST) or []
    except PackageNotFoundError:
        return fallback
    extra = re.compile(rf"""extra\s*==\s*["']{re.escape(engine)}["']""")
    for req in reqs:
        spec, _, marker = req.partition(";")
        if extra.search(marker):
            return spec.strip().replace(" ", "")
    return fallback


def pip_argv(engine: str, python: str | None = None) -> list[str]:
    """``python -m pip install`` for the engine's library (``-v``: a compile shows its percentage)."""
    return [
        python or sys.executable,
        "-m",
        "pip",
        "install",
        "-v",
        "--disable-pip-version-check",
        requirement(engine),
    ]


def _step(line: str) -> InstallStep:
    percent = None
    if m := _PERCENT.match(line):
        percent = int(m[1])
    elif (m := _STEPS.match(line)) and int(m[2]) > 0 and int(m[1]) <= int(m[2]):
        percent = 100 * int(m[1]) // int(m[2])
    return InstallStep(line.strip(), percent if percent is not None and percent <= 100 else None)


def explain(lines: Sequence[str], code: int) -> str:
    """One sentence for a failed pip run, from its last lines and exit code."""
    text = "\n".join(lines)
    if "Failed building wheel" in text or "Failed to build" in text or "CMake Error" in text:
        return (
            "pip could not compile the engine: install a C/C++ compiler and CMake "
            "(apt install build-essential cmake), then try again."
        )
    errors = [ln.strip() for ln in lines if ln.strip().upper().startswith("ERROR:")]
    last = errors[0] if errors else next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
    last = last.removeprefix("ERROR:").strip()
    return f"pip failed (exit {code}): {last[:300]}" if last else f"pip failed (exit {code})."


def _stop(proc: subprocess.Popen[str]) -> None:
    """Stop pip and the compilers it started (its own process group)."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
    except (ProcessLookupError, PermissionError):
        pass


def install_engine(
    engine: str,
    *,
    on_step: Callable[[InstallStep], None] | None = None,
    cancelled: threading.Event | None = None,
    python: str | None = None,
    argv: Sequence[str] | None = None,
) -> None:
    """Install ``engine``'s library with pip, blocking (run it off the GUI thread).

    Args:
        engine: a key of :data:`ENGINES`.
        on_step: gets each output line (from this thread).
        cancelled: set from any thread to stop pip; the call then raises :class:`InstallCancelled`.
        python: the interpreter whose environment gets the library (default: this one).
        argv: the whole command instead of :func:`pip_argv` (tests).

    Raises:
        InstallCancelled: ``cancelled`` was set.
        InstallError: pip could not start or failed (one sentence).
    """
    cmd = list(argv) if argv is not None else pip_argv(engine, python)
    log.info("installing the %s engine: %s", engine, " ".join(cmd))
    env = dict(os.environ, PYTHONUNBUFFERED="1", PIP_NO_INPUT="1")
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
            start_new_session=os.name == "posix",
        )
    except OSError as exc:
        raise InstallError(f"Can't run pip: {exc.strerror or exc}.") from None
    stop = threading.Event()
    if cancelled is not None:  # a compile can print nothing for minutes: stop it from a watcher

        def watch() -> None:
            while not stop.wait(0.05):
                if cancelled.is_set():
                    _stop(proc)
                    return

        threading.Thread(target=watch, name="engine-install-cancel", daemon=True).start()
    tail: list[str] = []
    out = proc.stdout
    assert out is not None
    try:
        for line in out:
            tail = [*tail[-39:], line.rstrip()]
            if on_step is not None and line.strip():
                on_step(_step(line))
        code = proc.wait()
    finally:
        stop.set()
        if proc.poll() is None:
            _stop(proc)
            proc.wait()
        out.close()
    if cancelled is not None and cancelled.is_set():
        raise InstallCancelled("Install cancelled; run it again to start over.")
    if code != 0:
        raise InstallError(explain(tail, code))
    importlib.invalidate_caches()  # the new package is importable in this process now
    log.info("the %s engine is installed", engine)


__all__ = [
    "ENGINES",
    "InstallCancelled",
    "InstallError",
    "InstallStep",
    "explain",
    "install_engine",
    "install_offer",
    "pip_argv",
    "requirement",
]
