"""What an artifact can pour into the app is bounded: console entries, reports, requests, caches."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import QUrl

from studio.cli.check import check_main
from studio.core.serving import ArtifactServer
from studio.web.checker import MAX_BLOCKED, check_file
from studio.web.page import MAX_ENTRIES, MAX_MESSAGE_CHARS, ConsoleBudget
from studio.web.scheme import MAX_IN_FLIGHT, ArtifactSchemeHandler, canonical_pack_query

# Multi-megabyte messages in a loop, then a steady stream: the 176 MB report.
FLOOD = """<!doctype html><body><h1>flood</h1><script>
const big = "x".repeat(1024 * 1024);
for (let i = 0; i < 3; i++) console.log(big + i);
let n = 0; setInterval(() => { for (let i = 0; i < 200; i++) console.log("tick " + (n++)); }, 5);
</script></body>"""
REPORT_BOUND = 2 * 1024 * 1024  # bytes of `check --json` output, whatever the page does


def test_console_budget_caps_and_rate_limits() -> None:
    now = [0.0]
    budget = ConsoleBudget(clock=lambda: now[0])
    kept = sum(budget.admit() for _ in range(1000))  # a burst at one instant
    assert kept == 100 and budget.dropped == 900
    now[0] += 1.0
    assert sum(budget.admit() for _ in range(1000)) == 100  # refilled at 100/s
    now[0] += 100.0
    assert sum(budget.admit() for _ in range(1000)) == MAX_ENTRIES - 200  # the per-render cap
    budget.reset()
    assert budget.admit() and budget.dropped == 0


def test_check_report_is_bounded_under_a_console_flood(qapp, tmp_path: Path, capsys) -> None:
    page = tmp_path / "flood.html"
    page.write_text(FLOOD)
    check_main(SimpleNamespace(file=str(page), screenshot=None, wait_ms=1500, json=True))
    out = capsys.readouterr().out
    assert len(out.encode()) < REPORT_BOUND, len(out)
    report = json.loads(out)
    console = report["console"]
    assert len(console) <= MAX_ENTRIES + 1
    assert all(len(e["message"]) <= MAX_MESSAGE_CHARS + 40 for e in console)
    assert console[0]["message"].startswith("x" * 100) and "more characters" in console[0]["message"]
    dropped = [e for e in console if "more messages dropped" in e["message"]]
    assert len(dropped) == 1 and report["console_dropped"] > 0
    assert dropped[0]["message"].startswith(f"{report['console_dropped']} more messages dropped")


def test_the_preview_keeps_a_bounded_console(qtbot, artifact_pane) -> None:
    with qtbot.waitSignal(artifact_pane.rendered, timeout=15000):
        artifact_pane.show_artifact("flood", FLOOD, title="Flood", kind="html", final=True)
    qtbot.waitUntil(lambda: len(artifact_pane.console_entries()) >= MAX_ENTRIES, timeout=15000)
    qtbot.wait(1000)  # the flood goes on
    entries = artifact_pane.console_entries()
    assert MAX_ENTRIES <= len(entries) <= MAX_ENTRIES + 1
    assert sum("more messages dropped" in e["message"] for e in entries) == 1
    assert artifact_pane.console.count() <= MAX_ENTRIES + 1


def test_requests_in_flight_per_artifact_are_capped(
    qtbot, make_page, artifact_server, artifact_profile
) -> None:
    """A page that fires 2000 requests at once gets at most MAX_IN_FLIGHT answered at a time (was 1871)."""
    handler: ArtifactSchemeHandler = artifact_profile.artifact_handler
    peak = [0]
    base = handler.requestStarted

    def watched(job) -> None:  # type: ignore[no-untyped-def]
        base(job)
        peak[0] = max(peak[0], handler.in_flight("reqflood"))

    handler.requestStarted = watched  # type: ignore[method-assign]
    refused: list[str] = []
    artifact_profile.artifact_interceptor.blocked.connect(lambda url, host: refused.append(url))
    artifact_server.put_file("reqflood", "x.bin", "application/octet-stream", b"x" * 200_000)
    html = """<script>
    window.DONE = 0;
    for (let i = 0; i < 2000; i++) fetch("data/x.bin?n=" + i).then(r => r.arrayBuffer())
      .catch(() => null).finally(() => { window.DONE++; });
    </script>"""
    page = make_page()
    page.load(QUrl(artifact_server.put_page("reqflood", html)))
    done: list[object] = [0]

    def finished() -> bool:
        page.runJavaScript("window.DONE", 0, lambda v: done.__setitem__(0, v))
        return done[0] == 2000

    qtbot.waitUntil(finished, timeout=30000)  # every request is answered: the rest waited their turn
    assert peak[0] <= MAX_IN_FLIGHT, peak[0]
    qtbot.waitUntil(lambda: handler.in_flight("reqflood") == 0, timeout=10000)


def test_unknown_query_parameters_do_not_defeat_the_pack_cache() -> None:
    assert canonical_pack_query("v=123&t=99") == ""
    assert canonical_pack_query("external=react,react-dom&cb=1") == "external=react%2Creact-dom"


class _CountingServer(ArtifactServer):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def resolve(self, host: str, path: str, query: str = "") -> tuple[str, bytes]:
        self.calls += 1
        if path.startswith("/_cdn/"):
            return "text/javascript", b"window.LIB = 1;"
        return super().resolve(host, path, query)


def test_pack_files_and_pages_are_read_and_copied_once(qapp) -> None:
    server = _CountingServer()
    handler = ArtifactSchemeHandler(server)
    for n in range(50):
        _, body = handler._resolve("a1", "/_cdn/cdn.example/lib.js", canonical_pack_query(f"cb={n}"), True)
    assert server.calls == 1 and bytes(body.data()) == b"window.LIB = 1;"
    url = server.put_page("a1", "<p>hi</p>")
    query = url.split("?", 1)[1]
    first = handler._resolve("a1", "/index.html", query, False)[1]
    again = handler._resolve("a1", "/index.html", query, False)[1]
    assert first.isSharedWith(again)  # the same buffer, not a copy
    handler.deleteLater()


def test_blocked_attempts_in_a_report_are_capped(qapp, tmp_path: Path) -> None:
    page = tmp_path / "many.html"
    page.write_text(
        "<script>for (let i = 0; i < 1500; i++) { const im = new Image(); im.src = 'http://127.0.0.1:9/i' + i; }</script>"
    )
    report = check_file(page, wait_ms=1000)
    assert len(report["blocked_requests"]) <= MAX_BLOCKED
    assert report["blocked_more"] > 0


def test_a_renderer_flooding_its_memory_is_stopped(qtbot, make_page, artifact_server) -> None:
    """An artifact that keeps 1 MB fetch bodies coming grows its renderer (measured: ~75 MB/s in
    QtWebEngine 6.12); past the watchdog's limit it is stopped and says why."""
    from studio.web.preview import HangWatchdog

    artifact_server.put_file("memflood", "blob.bin", "application/octet-stream", b"y" * 1024 * 1024)
    html = """<script>
    const one = () => fetch("data/blob.bin").then(r => r.arrayBuffer()).catch(() => null).finally(one);
    for (let i = 0; i < 200; i++) one();
    </script>"""
    page = make_page()
    console: list[str] = []
    page.consoleMessage.connect(lambda e: console.append(e["message"]))
    dog = HangWatchdog(page, interval_ms=200, max_mb=400)
    with qtbot.waitSignal(page.loadFinished, timeout=10000):
        page.load(QUrl(artifact_server.put_page("memflood", html)))
    with qtbot.waitSignal(dog.hung, timeout=60000):
        dog.start()
    assert dog.reason == "memory"
    assert any("MB of memory and was stopped" in m for m in console), console[-3:]
