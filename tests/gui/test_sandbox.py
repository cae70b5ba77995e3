"""The sandbox, proved from the outside: a local HTTP server must hear nothing from an artifact."""

from __future__ import annotations

import http.server
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer, QUrl
from PySide6.QtWebEngineCore import QWebEnginePage

from studio.core.serving import ArtifactServer
from tests.gui.httpserver import counting_server

ATTACKS = """<!doctype html><html><head>
<meta http-equiv="refresh" content="1;url={u}/refresh">
<link rel="stylesheet" href="{u}/style.css">
<script src="{u}/script.js"></script>
</head><body>
<img src="{u}/img.png">
<iframe src="{u}/iframe"></iframe>
<form id="f" action="{u}/form" method="post"><input name="x" value="1"></form>
<a id="a" href="{u}/link">link</a>
<script>
const U = "{u}";
fetch(U + "/fetch").catch(() => {{}});
try {{ const x = new XMLHttpRequest(); x.open("GET", U + "/xhr"); x.send(); }} catch (e) {{}}
try {{ new WebSocket("{ws}/ws"); }} catch (e) {{}}
try {{ navigator.sendBeacon(U + "/beacon", "x"); }} catch (e) {{}}
try {{ new Worker(U + "/worker.js"); }} catch (e) {{}}
try {{
  const src = `try {{ importScripts("${{U}}/import.js"); }} catch (e) {{}} fetch("${{U}}/wfetch").catch(() => {{}});`;
  new Worker(URL.createObjectURL(new Blob([src], {{type: "text/javascript"}})));
}} catch (e) {{}}
try {{ window.open(U + "/open"); }} catch (e) {{}}
new Image().src = U + "/img2.png";
setTimeout(() => {{ try {{ document.getElementById("f").submit(); }} catch (e) {{}} }}, 200);
setTimeout(() => {{ location.href = U + "/location"; }}, 400);
setTimeout(() => {{ try {{ top.location.replace(U + "/replace"); }} catch (e) {{}} }}, 600);
</script></body></html>"""


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def _hit(self) -> None:
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = _hit

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[http.server.ThreadingHTTPServer]:
    """A threaded HTTP server on 127.0.0.1 that records every request path."""
    with counting_server(_Counter) as server:
        yield server


def _attack_page(server: http.server.ThreadingHTTPServer) -> str:
    port = server.server_address[1]
    return ATTACKS.format(u=f"http://127.0.0.1:{port}", ws=f"ws://127.0.0.1:{port}")


def _load(qtbot, page: QWebEnginePage, url: str) -> bool:
    with qtbot.waitSignal(page.loadFinished, timeout=15000) as blocker:
        page.load(QUrl(url))
    return bool(blocker.args[0])


def test_control_an_unsandboxed_page_does_reach_the_server(http_server, tmp_path) -> None:
    """Positive control: the same page in a plain profile hits the server, so the test can fail.

    It runs in a fresh process: this one has the studio's process-wide flags (the network gate).
    """
    page_file = tmp_path / "attack.html"
    page_file.write_text(_attack_page(http_server))
    port = str(http_server.server_address[1])
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("vector_probe.py")), str(page_file), port],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "PROBE_DONE" in proc.stdout, proc.stderr[-2000:]
    assert len(http_server.hits) >= 3, http_server.hits


def test_artifact_reaches_nothing_on_the_network(
    qtbot, make_page, artifact_server, artifact_profile, http_server
) -> None:
    """fetch, XHR, img, css, iframe, WebSocket, beacon, workers, refresh, form, open, location."""
    blocked: list[str] = []
    artifact_profile.artifact_interceptor.blocked.connect(lambda url, host: blocked.append(url))
    confirms: list[str] = []

    def confirm(url: QUrl, parent: object) -> bool:
        confirms.append(url.toString())
        return False

    page = make_page(confirm_link=confirm)
    console: list[dict] = []
    page.consoleMessage.connect(console.append)
    url = artifact_server.put_page("attack", _attack_page(http_server))
    _load(qtbot, page, url)
    qtbot.wait(2500)  # let the timers, workers, refresh and navigations fire
    assert http_server.hits == []
    assert page.url().scheme() == "artifact" and page.url().host() == "attack"
    # The denials are reported, both by the interceptor and in the console.
    # fetch is refused by the page's Content-Security-Policy (connect-src), before the interceptor.
    assert any("/fetch" in e["message"] and "Content Security Policy" in e["message"] for e in console), (
        console
    )
    assert any(u.endswith("/img.png") for u in blocked), blocked
    assert any("blocked" in e["message"] for e in console), console
    assert confirms == []  # nothing the user clicked, so nothing asked


def test_clicked_link_opens_outside_only_after_confirm(qtbot, make_view, artifact_server) -> None:
    """A clicked link never navigates the preview; the system browser gets it only if confirmed."""
    opened: list[str] = []
    answers = [False, True]
    view = make_view(
        confirm_link=lambda url, parent: answers.pop(0), open_link=lambda url: opened.append(url.toString())
    )
    page = view.artifact_page
    html = '<body style="margin:0"><a href="https://example.com/x" style="display:block;height:300px">x</a>'
    _load(qtbot, page, artifact_server.put_page("links", html))
    qtbot.waitUntil(lambda: view.focusProxy() is not None, timeout=5000)
    for _ in range(2):
        with qtbot.waitSignal(page.linkRequested, timeout=5000):
            qtbot.mouseClick(view.focusProxy(), Qt.MouseButton.LeftButton, pos=QPoint(50, 50))
    qtbot.wait(100)
    assert answers == []
    assert opened == ["https://example.com/x"]
    assert page.url().host() == "links"


def test_file_urls_cannot_be_read(qtbot, make_page, artifact_server, tmp_path) -> None:
    """fetch/XHR/iframe of file:// fail."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    page = make_page()
    console: list[dict] = []
    page.consoleMessage.connect(console.append)
    file_url = QUrl.fromLocalFile(str(secret)).toString()
    html = f"""<script>
    fetch("{file_url}").then(r => r.text()).then(t => console.log("READ:" + t))
      .catch(e => console.log("fetch failed"));
    const x = new XMLHttpRequest();
    try {{ x.open("GET", "{file_url}", false); x.send(); console.log("READ:" + x.responseText); }}
    catch (e) {{ console.log("xhr failed"); }}
    </script><iframe id="i" src="{file_url}"></iframe>"""
    _load(qtbot, page, artifact_server.put_page("files", html))
    qtbot.waitUntil(lambda: any("fetch failed" in e["message"] for e in console), timeout=5000)
    qtbot.wait(300)
    assert not any("TOP-SECRET" in e["message"] for e in console), console
    assert any("xhr failed" in e["message"] for e in console), console


def test_permissions_are_denied(qtbot, make_page, artifact_server) -> None:
    """Geolocation, camera/microphone, notifications and clipboard read are refused."""
    page = make_page()
    console: list[dict] = []
    page.consoleMessage.connect(console.append)
    html = """<script>
    navigator.geolocation.getCurrentPosition(() => console.log("GOT geo"), e => console.log("geo denied"),
      {timeout: 1000});
    navigator.mediaDevices.getUserMedia({audio: true, video: true})
      .then(() => console.log("GOT media")).catch(e => console.log("media denied"));
    Notification.requestPermission().then(p => console.log("notif " + p));
    navigator.clipboard.readText().then(() => console.log("GOT clip")).catch(e => console.log("clip denied"));
    </script>"""
    _load(qtbot, page, artifact_server.put_page("perms", html))
    # Geolocation: offscreen Chromium has no provider and may never call back; it must not succeed.
    for word in ("media denied", "clip denied"):
        qtbot.waitUntil(lambda w=word: any(w in e["message"] for e in console), timeout=8000)
    qtbot.waitUntil(lambda: any(e["message"].startswith("notif ") for e in console), timeout=8000)
    qtbot.wait(1200)
    messages = [e["message"] for e in console]
    assert not any(m.startswith("GOT") for m in messages), messages
    assert "notif granted" not in messages


def test_dialogs_do_not_block_and_are_logged(qtbot, make_page, artifact_server) -> None:
    """alert/confirm/prompt return at once and show up as console entries."""
    page = make_page()
    console: list[dict] = []
    page.consoleMessage.connect(console.append)
    html = """<script>
    alert("hello"); const c = confirm("sure?"); const p = prompt("name?", "x");
    console.log("after dialogs " + c + " " + p);
    </script>"""
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    _load(qtbot, page, artifact_server.put_page("dialogs", html))
    qtbot.waitUntil(lambda: any("after dialogs" in e["message"] for e in console), timeout=5000)
    timer.stop()
    messages = [e["message"] for e in console]
    assert "after dialogs false null" in messages
    assert any("alert(): hello" in m for m in messages)
    assert any("confirm()" in m for m in messages) and any("prompt()" in m for m in messages)
    assert ticks


def test_uncaught_errors_have_line_numbers(qtbot, make_page, artifact_server) -> None:
    """Uncaught exceptions and unhandled rejections reach the console as errors with lines."""
    page = make_page()
    console: list[dict] = []
    page.consoleMessage.connect(console.append)
    html = "<script>\nconsole.log('one');\nundefinedFunction();\n</script>\n<script>Promise.reject(new Error('nope'));</script>"
    _load(qtbot, page, artifact_server.put_page("errors", html))
    qtbot.waitUntil(lambda: sum(e["level"] == "error" for e in console) >= 2, timeout=5000)
    errors = [e for e in console if e["level"] == "error"]
    assert any("undefinedFunction" in e["message"] and e["line"] == 3 for e in errors), errors
    assert any("nope" in e["message"] for e in errors), errors


def test_each_artifact_has_its_own_storage(qtbot, make_page, artifact_server) -> None:
    """localStorage works and is per artifact (host = artifact id)."""
    page = make_page()
    console: list[dict] = []
    page.consoleMessage.connect(console.append)
    _load(qtbot, page, artifact_server.put_page("one", "<script>localStorage.setItem('k', 'v1')</script>"))
    _load(
        qtbot,
        page,
        artifact_server.put_page("two", "<script>console.log('k=' + localStorage.getItem('k'))</script>"),
    )
    qtbot.waitUntil(lambda: any(e["message"].startswith("k=") for e in console), timeout=5000)
    assert any(e["message"] == "k=null" for e in console)


def test_data_files_are_served_same_origin(qtbot, make_page, artifact_server: ArtifactServer) -> None:
    """fetch('data/x.csv') reads an attached file; non-ASCII pages decode as UTF-8."""
    page = make_page()
    console: list[dict] = []
    page.consoleMessage.connect(console.append)
    artifact_server.put_file("data", "my x (1).csv", "text/csv", b"a,b\n1,2\n")
    html = '<meta charset="utf-8"><script>fetch("data/my x (1).csv").then(r => r.text()).then(t => console.log("csv:" + t.trim() + " é"))</script>'
    _load(qtbot, page, artifact_server.put_page("data", html))
    qtbot.waitUntil(lambda: any(e["message"].startswith("csv:") for e in console), timeout=5000)
    assert any(e["message"] == "csv:a,b\n1,2 é" for e in console), console
