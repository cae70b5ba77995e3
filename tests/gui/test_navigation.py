"""A top-level hop through data:/blob: cannot take an artifact to another artifact's origin."""

from __future__ import annotations

from urllib.parse import quote

from PySide6.QtCore import QUrl


def _load(qtbot, page, url: str) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(page.loadFinished, timeout=10000):
        page.load(QUrl(url))


def test_no_hop_through_data_or_blob_to_another_artifact(qtbot, make_page, artifact_server) -> None:
    artifact_server.put_page("victim", "<script>localStorage.setItem('secret', 's3cret')</script>")
    victim = "artifact://victim/index.html"
    hop = quote(f"<script>location.href = '{victim}';</script>")
    html = f"""<script>
    setTimeout(() => {{ location.href = "data:text/html,{hop}"; }}, 50);
    setTimeout(() => {{
      const b = new Blob(["<script>location.href = '{victim}';<" + "/script>"], {{type: "text/html"}});
      location.href = URL.createObjectURL(b);
    }}, 150);
    setTimeout(() => {{ location.href = "{victim}"; }}, 250);
    </script>"""
    page = make_page()
    console: list[str] = []
    page.consoleMessage.connect(lambda e: console.append(e["message"]))
    _load(qtbot, page, artifact_server.put_page("attacker", html))
    qtbot.waitUntil(lambda: any(f"navigation to {victim} blocked" in m for m in console), timeout=5000)
    qtbot.wait(500)
    assert page.url().scheme() == "artifact" and page.url().host() == "attacker", page.url().toString()


def test_a_frame_cannot_open_another_artifacts_pages(qtbot, make_page, artifact_server) -> None:
    cleared: list[str] = []
    artifact_server.put_page("victim", "<p>victim</p>")
    html = """<iframe id="f" src="artifact://victim/_reset"></iframe><iframe id="g" src="artifact://victim/index.html"></iframe>
    <iframe id="own" src="data:text/html,<p>in-page</p>"></iframe>"""
    page = make_page()
    console: list[str] = []
    page.consoleMessage.connect(lambda e: console.append(e["message"]))
    page.titleChanged.connect(cleared.append)
    _load(qtbot, page, artifact_server.put_page("framer", html))
    qtbot.waitUntil(
        lambda: sum("artifact://victim" in m and "blocked" in m for m in console) >= 2, timeout=5000
    )
    assert not any("data:text/html" in m and "blocked" in m for m in console), console
