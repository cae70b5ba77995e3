"""WebGL on machines without a GPU: the Chromium flag for software rendering, and when to add it.

With no GPU (a Linux box under Xvfb, a container, a VM) Chromium gives pages no WebGL context and
every three.js artifact fails with "Error creating WebGL context". ``--use-angle=swiftshader-webgl``
renders WebGL alone in software and leaves compositing as it was. Measured with Qt WebEngine 6.12
under Xvfb: it gives WebGL and the page shows; ``--use-angle=swiftshader`` (with or without
``--enable-unsafe-swiftshader``, check's flags) gives WebGL but the window shows no page at all
("Compositor returned null texture"). No "unsafe" flag is needed. It is added only where there is no
GPU to use, and never over flags the user chose.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
from collections.abc import Mapping

log = logging.getLogger(__name__)

SOFTWARE_WEBGL_FLAG = "--use-angle=swiftshader-webgl"
ENV_SWITCH = "STUDIO_SOFTWARE_WEBGL"
"""1: always add the software fallback; 0: never (default: only when no GPU is found)."""

_GPU_CHOICES = ("--use-angle", "--use-gl", "--disable-gpu", "--enable-unsafe-swiftshader", "--disable-webgl")


def has_gpu(platform: str = sys.platform, render_nodes: list[str] | None = None) -> bool:
    """Whether a GPU is there to render WebGL (macOS and Windows always have a path of their own)."""
    if not platform.startswith("linux"):
        return True
    nodes = glob.glob("/dev/dri/renderD*") if render_nodes is None else render_nodes
    return bool(nodes)


def with_software_webgl(flags: str, env: Mapping[str, str] | None = None, *, gpu: bool | None = None) -> str:
    """Chromium flags with the software WebGL fallback added where it is needed.

    Args:
        flags: the QTWEBENGINE_CHROMIUM_FLAGS value so far.
        env: the environment (default: os.environ); ``STUDIO_SOFTWARE_WEBGL`` forces it on or off,
            ``QT_QPA_PLATFORM=offscreen`` counts as no GPU.
        gpu: whether a GPU is there (default: :func:`has_gpu`).

    Returns:
        ``flags``, plus ``--use-angle=swiftshader-webgl`` when there is no GPU and no GPU flag was given.
    """
    env = os.environ if env is None else env
    words = flags.split()
    if any(w.split("=", 1)[0] in _GPU_CHOICES for w in words):
        return flags  # the user chose how Chromium renders
    switch = env.get(ENV_SWITCH, "").strip()
    if switch == "0":
        return flags
    offscreen = env.get("QT_QPA_PLATFORM", "") == "offscreen"
    if switch == "1" or offscreen or not (has_gpu() if gpu is None else gpu):
        return f"{flags} {SOFTWARE_WEBGL_FLAG}".strip()
    return flags
