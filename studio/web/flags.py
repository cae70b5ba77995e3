"""Chromium's process-wide flags for artifacts: the OS sandbox, WebRTC, the network gate, WebGL.

Qt-free, so the app, the ``check``/``eval`` commands and the tests choose the same flags. Chromium
reads ``QTWEBENGINE_CHROMIUM_FLAGS`` once, when QtWebEngine starts; call :func:`apply` before the
QApplication exists.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

ENV = "QTWEBENGINE_CHROMIUM_FLAGS"
# No UDP unless it goes through a proxy (Chromium proxies no UDP): no STUN/TURN datagrams from
# any frame, whatever the page does to its own RTCPeerConnection.
WEBRTC_FLAG = "--force-webrtc-ip-handling-policy=disable_non_proxied_udp"
# Software WebGL through ANGLE, without --enable-unsafe-swiftshader.
SOFTWARE_GL = ("--use-angle=swiftshader",)
_DROPPED = ("--enable-unsafe-swiftshader",)


def is_root() -> bool:
    """Whether this process runs as root (Chromium refuses its sandbox there)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def needs_no_sandbox(uid: int | None) -> bool:
    """Whether Chromium must run without its OS sandbox: only as root (uid 0)."""
    return uid == 0


def chromium_flags(flags: str, *, root: bool, gate_port: int | None = None, software_gl: bool = False) -> str:
    """The flags for this process: ``flags`` plus what the sandbox needs.

    Args:
        flags: the flags already asked for (the environment's).
        root: running as root: ``--no-sandbox`` is added (nowhere else).
        gate_port: the loopback port of the network gate (:mod:`studio.web.netgate`); every
            connection Chromium makes, loopback included, goes through it.
        software_gl: add software WebGL (headless checks).

    Returns:
        The flag string (space separated, as QtWebEngine splits it).
    """
    parts = [f for f in flags.split() if f not in _DROPPED]
    wanted: list[str] = []
    if root:
        wanted.append("--no-sandbox")
    wanted.append(WEBRTC_FLAG)
    if gate_port is not None:
        parts = [
            f for f in parts if not f.startswith(("--proxy-server=", "--proxy-bypass-list=", "--no-proxy"))
        ]
        wanted += [f"--proxy-server=socks5://127.0.0.1:{gate_port}", "--proxy-bypass-list=<-loopback>"]
    if software_gl and not any(f.startswith(("--use-angle=", "--use-gl=")) for f in parts):
        parts = [f for f in parts if f != "--disable-gpu"]
        wanted += list(SOFTWARE_GL)
    for flag in wanted:
        if flag not in parts:
            parts.append(flag)
    return " ".join(parts)


def apply(*, software_gl: bool = False) -> str:
    """Start the network gate and set :data:`ENV` for this process (before the QApplication).

    Returns:
        The flags set.
    """
    from studio.web.netgate import process_gate

    gate = process_gate()
    flags = chromium_flags(
        os.environ.get(ENV, ""), root=is_root(), gate_port=gate.port, software_gl=software_gl
    )
    os.environ[ENV] = flags
    return flags


def sandbox_off(flags: str | None = None) -> bool:
    """Whether Chromium runs (or will run) without its OS sandbox in this process."""
    return "--no-sandbox" in (os.environ.get(ENV, "") if flags is None else flags).split()


SANDBOX_OFF_NOTICE = (
    "Chromium's OS sandbox is off because the app runs as root: artifacts stay in their own "
    "profile, origin and network gate, but a bug in Chromium's renderer would not be contained. "
    "Run the app as a normal user to keep it on."
)
