"""Every known route out of the sandbox, aimed at a loopback canary, in the preview and via `check`.

The canary (tests/fixtures/canary.py) counts HTTP requests, bare TCP connections and UDP datagrams.
With the protections on it must count zero and each attempt must be reported; the control run
(the same pages in a plain profile, in a fresh process) must reach it with every vector.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from canary import Canary
from PySide6.QtCore import QUrl

from tests.gui.vectors import VECTORS, page

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RUN_MS = 2500  # how long each attack page runs

# What the control run must show for each vector: it proves the protected test can fail.
LIVE = {
    "preconnect": lambda c: c.connections > len(c.requests),  # a bare connection
    "prefetch": lambda c: any("/prefetch" in r for r in c.requests),
    "preload": lambda c: any("/preload" in r for r in c.requests),
    "webrtc": lambda c: c.datagrams > 0,
    "webtransport": lambda c: c.datagrams > 0,
    "classic": lambda c: any("/fetch" in r for r in c.requests),
}
# Speculation rules do not fire in QtWebEngine 6.12 even unprotected (the control shows nothing);
# the page still runs in the protected tests, which would catch them the day they do.
NOT_LIVE = {"speculation"}

# How each blocked attempt is reported: in blocked_requests or in the console.
REPORTED = {
    "preconnect": lambda blocked, console: (
        any(u.startswith("tcp://127.0.0.1:") for u in blocked)
        or any("blocked preconnect" in m for m in console)
    ),
    "prefetch": lambda blocked, console: any(u.endswith("/prefetch") for u in blocked),
    "preload": lambda blocked, console: (
        any(u.endswith("/preload.png") for u in blocked)
        and any("Content Security Policy" in m for m in console)
    ),
    "webrtc": lambda blocked, console: any("WebRTC" in m for m in console),
    "webtransport": lambda blocked, console: any("Content Security Policy" in m for m in console),
    "classic": lambda blocked, console: (
        any(u.endswith("/img.png") for u in blocked) and any("Content Security Policy" in m for m in console)
    ),
}


@pytest.fixture
def canary() -> Iterator[Canary]:
    with Canary() as c:
        yield c


def test_every_vector_is_covered() -> None:
    assert set(VECTORS) == set(LIVE) | NOT_LIVE
    assert set(REPORTED) == set(LIVE)


def test_control_without_protections_every_vector_reaches_the_canary() -> None:
    """The same pages in a plain profile (no interceptor, CSP, WebRTC policy or gate) get through."""
    canaries = {name: Canary() for name in VECTORS}
    try:
        ports = json.dumps({name: c.port for name, c in canaries.items()})
        proc = subprocess.run(
            [sys.executable, str(HERE / "vector_probe.py"), ports],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PROBE_MS": str(RUN_MS + 500)},
        )
        assert "PROBE_DONE" in proc.stdout, proc.stderr[-2000:]
        missed = [n for n, live in LIVE.items() if not live(canaries[n])]
        assert missed == [], {n: canaries[n].summary() for n in missed}
    finally:
        for c in canaries.values():
            c.close()


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_preview_reaches_nothing(
    qtbot, name: str, make_page, artifact_server, artifact_profile, canary
) -> None:
    """In the window's preview profile (the app's flags), each vector counts zero and is reported."""
    interceptor = artifact_profile.artifact_interceptor
    blocked: list[str] = []
    interceptor.blocked.connect(lambda url, host: blocked.append(url))
    interceptor.connectionBlocked.connect(blocked.append)
    p = make_page()
    console: list[str] = []
    p.consoleMessage.connect(lambda e: console.append(e["message"]))
    with qtbot.waitSignal(p.loadFinished, timeout=15000):
        p.load(QUrl(artifact_server.put_page(f"vec-{name}", page(name, canary.port))))
    if name in REPORTED:
        qtbot.waitUntil(lambda: REPORTED[name](blocked, console), timeout=RUN_MS * 2)
    qtbot.wait(RUN_MS)
    assert canary.total() == 0, canary.summary()


def _check(path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "QTWEBENGINE_CHROMIUM_FLAGS"}
    proc = subprocess.run(
        [sys.executable, "-m", "studio", "check", str(path), "--json", "--wait-ms", str(RUN_MS)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
    )
    assert proc.stdout.strip().startswith("{"), proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_check_reaches_nothing_and_names_the_attempt(name: str, tmp_path: Path, canary) -> None:
    """`artifacts-studio check` on each vector: the canary counts zero, the attempt is in the report."""
    html = tmp_path / f"{name}.html"
    html.write_text(page(name, canary.port))
    report = _check(html)
    assert canary.total() == 0, canary.summary()
    if name in REPORTED:
        console = [e["message"] for e in report["console"]]
        assert REPORTED[name](report["blocked_requests"], console), report
