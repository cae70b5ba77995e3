"""The stream-safe live preview: clean swaps, last good frame, coalescing, focus, hangs."""

from __future__ import annotations

import itertools
import time

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

GOOD = "<!doctype html><body><h1>v{n}</h1><script>console.log('hello v{n}')</script></body>"
BROKEN = "<!doctype html><body><h1>half</h1><script>\nconst x = ;\n</script></body>"


def _show(pane, html: str, *, final: bool, artifact_id: str = "art1") -> None:
    pane.show_artifact(artifact_id, html, title="Demo", kind="html", final=final)


def test_clean_renders_swap_in_and_broken_ones_keep_the_last_good_frame(qtbot, artifact_pane) -> None:
    """A streaming render with an error is not shown; the final one is, with its error listed."""
    with qtbot.waitSignal(artifact_pane.rendered, timeout=10000) as got:
        _show(artifact_pane, GOOD.format(n=1), final=False)
    assert got.args == ["art1", False]
    assert artifact_pane.current_html() == GOOD.format(n=1)
    assert [e["message"] for e in artifact_pane.console_entries()] == ["hello v1"]

    rendered: list[tuple] = []
    artifact_pane.rendered.connect(lambda *a: rendered.append(a))
    _show(artifact_pane, BROKEN, final=False)
    qtbot.waitUntil(lambda: not artifact_pane.is_rendering(), timeout=10000)
    assert rendered == []
    assert artifact_pane.current_html() == GOOD.format(n=1)  # the last good frame stays
    assert all(e["level"] != "error" for e in artifact_pane.console_entries())

    with qtbot.waitSignal(artifact_pane.rendered, timeout=10000) as got:
        _show(artifact_pane, BROKEN, final=True)
    assert got.args == ["art1", True]
    assert artifact_pane.current_html() == BROKEN
    errors = [e for e in artifact_pane.console_entries() if e["level"] == "error"]
    assert errors and errors[0]["line"] == 2, artifact_pane.console_entries()
    assert artifact_pane.console.error_count() == 1


def test_streaming_renders_coalesce_to_the_newest(qtbot, artifact_pane) -> None:
    """Many updates while one render is in flight: only the newest pending one is rendered next."""
    rendered: list[tuple] = []
    artifact_pane.rendered.connect(lambda *a: rendered.append(a))
    for n in range(20):
        _show(artifact_pane, GOOD.format(n=n), final=False)
    qtbot.waitUntil(lambda: artifact_pane.current_html() == GOOD.format(n=19), timeout=10000)
    qtbot.waitUntil(lambda: not artifact_pane.is_rendering(), timeout=10000)
    assert len(rendered) == 2  # the first, then the newest; 18 were never loaded
    with qtbot.waitSignal(artifact_pane.rendered, timeout=5000) as got:
        _show(artifact_pane, GOOD.format(n=19), final=True)  # same page: marked final, no reload
    assert got.args == ["art1", True]
    assert [e["message"] for e in artifact_pane.console_entries()] == ["hello v19"]


def test_the_preview_never_takes_keyboard_focus(qtbot, artifact_profile, artifact_server) -> None:
    """A QLineEdit (the composer) keeps focus while the preview renders again and again."""
    import shiboken6

    from studio.ui.artifactpane import ArtifactPane

    window = QWidget()
    layout = QVBoxLayout(window)
    edit = QLineEdit()
    pane = ArtifactPane(artifact_profile, artifact_server)
    layout.addWidget(edit)
    layout.addWidget(pane)
    window.resize(600, 500)
    window.show()
    try:
        window.activateWindow()
        qtbot.waitActive(window)
        edit.setFocus()
        qtbot.waitUntil(edit.hasFocus)
        focused = (
            "<body><input id=i autofocus><script>document.getElementById('i').focus();window.focus()</script>"
        )
        for n in range(3):
            with qtbot.waitSignal(pane.rendered, timeout=10000):
                pane.show_artifact("f", focused + str(n), title="t", kind="html", final=n == 2)
            assert edit.hasFocus()
            assert QGuiApplication.focusObject() is edit
        qtbot.keyClicks(edit, "abc")
        assert edit.text() == "abc"
    finally:
        shiboken6.delete(window)


def test_a_hung_page_is_stopped_and_the_app_stays_responsive(qtbot, artifact_pane) -> None:
    """An infinite loop: the GUI timer keeps ticking, the page is stopped, Reload brings it back."""
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(50)
    hang = "<body><h1>spin</h1><script>setTimeout(() => { while (true) {} }, 300)</script></body>"
    started = time.monotonic()
    with qtbot.waitSignal(artifact_pane.hung, timeout=15000):
        _show(artifact_pane, hang, final=True)
    elapsed = time.monotonic() - started
    timer.stop()
    assert elapsed < 8
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 10 and max(gaps) < 1.0, max(gaps)
    assert any("stopped responding" in e["message"] for e in artifact_pane.console_entries())
    with qtbot.waitSignal(artifact_pane.rendered, timeout=10000):
        _show(artifact_pane, GOOD.format(n=2), final=True)
    assert artifact_pane.current_html() == GOOD.format(n=2)


def test_a_page_that_hangs_while_loading_is_dropped_while_streaming(qtbot, artifact_pane) -> None:
    """A streamed half-page that loops forever before load never replaces the last good frame."""
    with qtbot.waitSignal(artifact_pane.rendered, timeout=10000):
        _show(artifact_pane, GOOD.format(n=1), final=False)
    _show(artifact_pane, "<script>while (true) {}</script>", final=False)
    qtbot.waitUntil(lambda: not artifact_pane.is_rendering(), timeout=10000)
    assert artifact_pane.current_html() == GOOD.format(n=1)
    with qtbot.waitSignal(artifact_pane.rendered, timeout=10000):
        _show(artifact_pane, GOOD.format(n=3), final=False)


def test_blocked_requests_show_in_the_console(qtbot, artifact_pane) -> None:
    """A request to the network is denied and listed with the shown version's entries."""
    blocked: list[str] = []
    artifact_pane.requestBlocked.connect(blocked.append)
    html = '<body><img src="https://cdn.example.com/x.png"><script>console.log("ok")</script></body>'
    with qtbot.waitSignal(artifact_pane.rendered, timeout=10000):
        _show(artifact_pane, html, final=True)
    qtbot.waitUntil(lambda: bool(blocked), timeout=5000)
    assert blocked == ["https://cdn.example.com/x.png"]
    assert any(
        e["level"] == "blocked" and "cdn.example.com" in e["message"] for e in artifact_pane.console_entries()
    )


def test_source_tab_copy_and_clear(qtbot, artifact_pane) -> None:
    """The Source tab shows the page, Copy source copies it, clear() empties the pane."""
    html = GOOD.format(n=7)
    with qtbot.waitSignal(artifact_pane.rendered, timeout=10000):
        _show(artifact_pane, html, final=True)
    artifact_pane.tabs.setCurrentIndex(1)
    assert artifact_pane.source_text().strip() == html
    artifact_pane.copy_source()
    assert QGuiApplication.clipboard().text() == html
    artifact_pane.clear()
    assert artifact_pane.current_html() is None
    assert artifact_pane.console_entries() == []


def test_the_final_version_is_not_stuck_behind_a_hung_streaming_one(qtbot, artifact_pane) -> None:
    """The answer ends while a half-page spins: the final page still renders, and is not 'hung'."""
    hangs: list[bool] = []
    artifact_pane.hung.connect(lambda: hangs.append(True))
    _show(artifact_pane, "<h1>half</h1><script>while (true) {}</script>", final=False)
    qtbot.wait(1000)
    with qtbot.waitSignal(artifact_pane.rendered, timeout=10000) as got:
        _show(artifact_pane, GOOD.format(n=9), final=True)
    assert got.args == ["art1", True]
    assert artifact_pane.current_html() == GOOD.format(n=9)
    qtbot.wait(500)
    assert hangs == []
    assert [e["message"] for e in artifact_pane.console_entries()] == ["hello v9"]
