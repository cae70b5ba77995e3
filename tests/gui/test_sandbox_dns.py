"""No DNS lookups from an artifact with its network off, counted in the system calls of every process.

A loopback canary cannot see name lookups, so this test watches them where they happen: `strace -f`
on the whole process tree (the app, QtWebEngine's network service and renderers) records every
connect/send; a lookup is one aimed at port 53, or at the local resolver's socket (systemd-resolved,
nscd). The page names a fresh host in each way a page can make Chromium resolve one (dns-prefetch,
preconnect, prefetch, an image, fetch, WebSocket, a STUN server). The control run, the same page in a
plain QtWebEngine profile, must look those names up: it proves the test can fail. Under the studio the
names reach only the network gate (SOCKS5 hands the name to the proxy, which refuses it), so nothing
on the machine resolves them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RUN_MS = 3000

PAGE = """<!DOCTYPE html><html><head>
<link rel="dns-prefetch" href="//dnsprobe-one.example.org">
<link rel="preconnect" href="https://dnsprobe-two.example.org">
<link rel="prefetch" href="https://dnsprobe-three.example.org/x.js">
</head><body><h1>names</h1>
<img src="https://dnsprobe-four.example.org/a.png">
<script>
fetch("https://dnsprobe-five.example.org/f").catch(() => {});
try { new WebSocket("wss://dnsprobe-six.example.org/ws"); } catch (e) {}
try {
  const pc = new RTCPeerConnection({iceServers: [{urls: "stun:dnsprobe-seven.example.org:3478"}]});
  pc.createDataChannel("x");
  pc.createOffer().then((o) => pc.setLocalDescription(o));
} catch (e) {}
</script></body></html>
"""

# connect/sendto/sendmsg aimed at a DNS server, or a connect to a local resolver's socket
_LOOKUP = re.compile(r"htons\(53\)|/run/systemd/resolve/|/var/run/nscd/|/run/nscd/")

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")


def _lookups(cmd: list[str], trace: Path, env: dict[str, str]) -> list[str]:
    """Run ``cmd`` under strace (every thread and child); the traced calls that look a name up."""
    strace = [
        "strace",
        "-f",
        "-qq",
        "-s",
        "64",
        "-e",
        "trace=connect,sendto,sendmsg,sendmmsg",
        "-o",
        str(trace),
    ]
    proc = subprocess.run(
        strace + cmd, capture_output=True, text=True, timeout=180, env=env, cwd=REPO, check=False
    )
    assert trace.exists(), proc.stderr[-2000:]
    return [line for line in trace.read_text(errors="replace").splitlines() if _LOOKUP.search(line)]


def test_no_name_is_looked_up_with_the_network_off(tmp_path: Path) -> None:
    page = tmp_path / "names.html"
    page.write_text(PAGE)
    env = {k: v for k, v in os.environ.items() if k != "QTWEBENGINE_CHROMIUM_FLAGS"}
    env["QT_QPA_PLATFORM"] = "offscreen"

    control = _lookups(
        [sys.executable, str(HERE / "vector_probe.py"), str(page), "9"],
        tmp_path / "control.trace",
        {**env, "PROBE_MS": str(RUN_MS)},
    )
    if not control:
        pytest.skip("the control run made no lookup this machine's strace could see (no resolver?)")

    studio = _lookups(
        [sys.executable, "-m", "studio", "check", str(page), "--json", "--wait-ms", str(RUN_MS)],
        tmp_path / "studio.trace",
        env,
    )
    assert studio == [], studio[:5]
    # and the names did go somewhere: to the gate, which refused them (the check reported them)
    assert "dnsprobe-two" in (tmp_path / "studio.trace").read_text(errors="replace")
