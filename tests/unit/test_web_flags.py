"""Chromium's flags: the OS sandbox stays on except as root; WebRTC and the network gate always."""

from __future__ import annotations

from studio.web.flags import WEBRTC_FLAG, chromium_flags, needs_no_sandbox, sandbox_off


def test_the_sandbox_is_turned_off_only_for_root() -> None:
    assert needs_no_sandbox(0) is True
    assert needs_no_sandbox(1000) is False and needs_no_sandbox(None) is False
    user = chromium_flags("--disable-gpu", root=False, gate_port=4000)
    assert "--no-sandbox" not in user.split() and not sandbox_off(user)
    root = chromium_flags("--disable-gpu", root=True, gate_port=4000)
    assert "--no-sandbox" in root.split() and sandbox_off(root)
    assert chromium_flags("--no-sandbox", root=True).split().count("--no-sandbox") == 1


def test_webrtc_and_every_connection_go_below_the_page() -> None:
    flags = chromium_flags("--proxy-server=http://corp:3128", root=False, gate_port=4711).split()
    assert WEBRTC_FLAG in flags
    assert (
        "--proxy-server=socks5://127.0.0.1:4711" in flags and "--proxy-server=http://corp:3128" not in flags
    )
    assert "--proxy-bypass-list=<-loopback>" in flags  # loopback too: a local server is not exempt


def test_software_webgl_without_the_unsafe_flag() -> None:
    old = "--no-sandbox --use-angle=swiftshader --enable-unsafe-swiftshader"
    assert "--enable-unsafe-swiftshader" not in chromium_flags(old, root=True, software_gl=True)
    flags = chromium_flags("--disable-gpu", root=False, software_gl=True).split()
    assert "--use-angle=swiftshader" in flags and "--disable-gpu" not in flags
    assert "--enable-unsafe-swiftshader" not in flags
