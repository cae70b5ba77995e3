"""beforeunload cannot pin a page, and a load that does not start gets a fresh page."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from studio.web.page import ArtifactPage

PIN = """<!doctype html><body style="margin:0"><div style="height:300px">pin</div><script>
window.addEventListener("beforeunload", (e) => { e.preventDefault(); e.returnValue = "stay"; return "stay"; });
</script></body>"""
NEXT = "<!doctype html><body><h1>next</h1><script>console.log('next loaded')</script></body>"


def _click(qtbot, view) -> None:
    """One real click: Chromium asks beforeunload only after the user touched the page."""
    qtbot.waitUntil(lambda: view.focusProxy() is not None, timeout=5000)
    qtbot.mouseClick(view.focusProxy(), Qt.MouseButton.LeftButton, pos=QPoint(50, 50))
    qtbot.wait(200)


def test_beforeunload_cannot_keep_a_page(qtbot, make_view, artifact_server) -> None:
    view = make_view()
    page = view.artifact_page
    console: list[str] = []
    page.consoleMessage.connect(lambda e: console.append(e["message"]))
    with qtbot.waitSignal(page.loadFinished, timeout=10000):
        page.load(artifact_server.put_page("pin", PIN))
    _click(qtbot, view)
    with qtbot.waitSignal(page.loadFinished, timeout=10000) as done:
        page.load(artifact_server.put_page("pin", NEXT))
    assert done.args == [True]
    qtbot.waitUntil(lambda: "next loaded" in console, timeout=5000)
    assert any("beforeunload" in m for m in console), console


def test_a_pinned_page_is_replaced_by_a_fresh_one(qtbot, artifact_pane, monkeypatch) -> None:
    """If a page still refuses to load (here: the old 'stay' answer), the pane renders in a new page."""
    monkeypatch.setattr(ArtifactPage, "javaScriptConfirm", lambda self, origin, msg: False)
    with qtbot.waitSignal(artifact_pane.rendered, timeout=10000):
        artifact_pane.show_artifact("pin", PIN, title="Pin", kind="html", final=True)
    front = artifact_pane._front.view
    _click(qtbot, front)
    # Two more renders: the second one loads into the pinned page (the slots alternate).
    for n, html in enumerate((NEXT, NEXT.replace("next", "third"))):
        with qtbot.waitSignal(artifact_pane.rendered, timeout=15000):
            artifact_pane.show_artifact("pin", html, title=f"v{n}", kind="html", final=True)
    assert artifact_pane.current_html() == NEXT.replace("next", "third")
    assert not artifact_pane.is_rendering()
