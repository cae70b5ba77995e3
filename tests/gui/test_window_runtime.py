"""The window with the offline runtime: a CDN-using answer renders with no network, exports offline,
React answers render through the pack (or say clearly which import is missing), the system prompt
names the offline libraries, the network toggle is per artifact.
"""

# ruff: noqa: F811  (the make_window fixture is imported from test_window and named as a parameter)

from __future__ import annotations

import pytest

from studio.core.runtime import pack_ready
from studio.core.serving import host_for
from tests.browser.chromium import chromium_binary, open_page
from tests.gui.scripted import CORPUS, corpus_answer
from tests.gui.test_window import make_window, run_js, shown_page  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(
    not pack_ready(), reason="runtime pack not fetched (scripts/fetch_runtime.py)"
)

CHART_ANSWER = """Here is a bar chart.

```html
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sales</title>
<script src="https://cdn.jsdelivr.net/npm/chart.js"></script>
</head><body><canvas id="c" width="400" height="300"></canvas>
<script>
window.CHART = new Chart(document.getElementById("c"), {
  type: "bar", options: {animation: false, responsive: false},
  data: {labels: ["Q1", "Q2", "Q3"], datasets: [{label: "Sales", data: [3, 9, 4]}]}
});
</script></body></html>
```
"""


def test_cdn_chart_answer_renders_with_no_network_and_exports_offline(qtbot, make_window, tmp_path) -> None:
    t = make_window([CHART_ANSWER], chunk_chars=64)
    blocked: list[str] = []
    t.w.pane.requestBlocked.connect(blocked.append)
    t.send(qtbot, "a chart")
    qtbot.waitUntil(lambda: bool(t.renders(final=True)), timeout=15000)
    page = shown_page(qtbot, t.w)
    assert run_js(qtbot, page, "return [typeof Chart, window.CHART.data.datasets[0].data.length];") == [
        "function",
        3,
    ]
    assert blocked == []
    assert not t.w.pane.network_toggle.isChecked()
    out = tmp_path / "chart.html"
    assert t.w.exporter.export_to(str(out))
    text = out.read_text(encoding="utf-8")
    assert 'src="https://cdn.jsdelivr.net' not in text
    assert "data:text/javascript" in text
    if chromium_binary() is None:
        pytest.skip("chromium is not installed: the exported file was not opened in a browser")
    result = open_page(text)
    assert result.loaded and result.errors == [], result.errors


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no answer corpus at {CORPUS}")
@pytest.mark.parametrize(
    ("case", "expect"), [("16", "reading 'filter'"), ("37", "use-fireproof"), ("38", "use-fireproof")]
)
def test_react_corpus_answers_render_or_name_the_missing_module(
    qtbot, make_window, case: str, expect: str
) -> None:
    t = make_window([corpus_answer(case)], chunk_chars=256)
    t.send(qtbot, "react")
    qtbot.waitUntil(lambda: bool(t.renders(final=True)), timeout=15000)
    assert t.w.session.current_version().artifact.kind == "react"
    qtbot.waitUntil(lambda: any(e["level"] == "error" for e in t.w.pane.console_entries()), timeout=10000)
    qtbot.wait(300)
    errors = [e["message"] for e in t.w.pane.console_entries() if e["level"] == "error"]
    assert errors and all(expect in m for m in errors), errors
    if expect == "use-fireproof":  # exactly one message, naming the module the pack lacks
        assert len(errors) == 1 and 'could not load module "use-fireproof"' in errors[0], errors
    else:  # React and Babel ran: the component itself failed on its missing props
        assert not any("could not load module" in m for m in errors), errors


def test_the_system_prompt_names_the_offline_libraries(qtbot, make_window) -> None:
    from studio.core.prompts import default_prompt as default_system_prompt

    text = default_system_prompt()
    assert "Chart.js 4.4.1" in text and "three.js" in text
    assert "Do not load scripts" not in text


def test_network_toggle_is_per_artifact(qtbot, make_window) -> None:
    t = make_window([CHART_ANSWER, CHART_ANSWER.replace("Sales", "Costs")], chunk_chars=64)
    t.send(qtbot, "a chart")
    qtbot.waitUntil(lambda: bool(t.renders(final=True)), timeout=15000)
    pane = t.w.pane
    interceptor = pane._interceptor
    assert pane.network_toggle.isEnabled() and not pane.network_toggle.isChecked()
    pane.network_toggle.click()
    first = host_for(t.w.artifact_id)
    assert interceptor.network_allowed(first)
    t.w.new_chat()
    t.send(qtbot, "another chart")
    qtbot.waitUntil(lambda: len(t.renders(final=True)) >= 2, timeout=15000)
    second = host_for(t.w.artifact_id)
    assert second != first
    assert not interceptor.network_allowed(second) and not pane.network_toggle.isChecked()
    assert interceptor.network_allowed(first)
