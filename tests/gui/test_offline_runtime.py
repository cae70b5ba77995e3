"""The offline runtime in the sandbox: CDN URLs answered from the pack, everything else blocked.

A local HTTP server stands in for "the network": it must hear nothing unless the user allowed the
network for that one artifact.
"""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWebEngineCore import QWebEnginePage

from studio.core.runtime import pack_ready
from tests.gui.httpserver import counting_server

pytestmark = pytest.mark.skipif(
    not pack_ready(), reason="runtime pack not fetched (scripts/fetch_runtime.py)"
)

CHART_AND_THREE = """<!DOCTYPE html><html><head>
<script src="https://cdn.jsdelivr.net/npm/chart.js@4.4.0/dist/chart.umd.min.js"></script>
<script src="https://cdnjs.cloudflare.com/ajax/libs/three.js/r128/three.min.js"></script>
<script src="https://cdn.jsdelivr.net/npm/three@0.128.0/examples/js/controls/OrbitControls.js"></script>
<script src="{u}/unknown-lib.js"></script>
</head><body style="margin:0"><canvas id="c" width="300" height="200"></canvas>
<script>
const chart = new Chart(document.getElementById("c"), {{
  type: "bar", options: {{animation: false, responsive: false}},
  data: {{labels: ["a", "b", "c"], datasets: [{{data: [3, 7, 5], backgroundColor: "#c62828"}}]}}
}});
const scene = new THREE.Scene();
scene.add(new THREE.Mesh(new THREE.BoxGeometry(1, 1, 1), new THREE.MeshBasicMaterial()));
window.RESULT = {{
  chart: typeof Chart, three: THREE.REVISION, orbit: typeof THREE.OrbitControls, meshes: scene.children.length
}};
</script></body></html>"""

MODULE_PAGE = """<!DOCTYPE html><html><body><script type="module">
import * as THREE from "https://unpkg.com/three@0.160.0/build/three.module.js";
import confetti from "https://esm.sh/canvas-confetti@1.9.2";
window.RESULT = {three: THREE.REVISION};
</script><script type="module">
import * as d3 from "https://cdn.jsdelivr.net/npm/d3@7/+esm";
window.D3 = typeof d3.select;
</script></body></html>"""


class _Counter(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/javascript")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(b"window.FROM_NET = 1;")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[http.server.ThreadingHTTPServer]:
    """A threaded HTTP server on 127.0.0.1 that records every request path."""
    with counting_server(_Counter) as server:
        yield server


def _base(server: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _load(qtbot, page: QWebEnginePage, url: str) -> None:
    with qtbot.waitSignal(page.loadFinished, timeout=20000) as blocker:
        page.load(QUrl(url))
    assert blocker.args[0], "the page did not load"


def _js(qtbot, page: QWebEnginePage, expr: str) -> object:
    out: list[object] = []
    page.runJavaScript(f"JSON.stringify({expr})", 0, out.append)
    qtbot.waitUntil(lambda: bool(out), timeout=5000)
    return json.loads(out[0]) if isinstance(out[0], str) and out[0] else None


def test_chart_and_three_from_cdns_render_with_no_network(
    qtbot, make_view, artifact_server, artifact_profile, http_server
) -> None:
    """jsDelivr Chart.js, cdnjs three.js and its OrbitControls come from the pack; an unknown URL is blocked."""
    interceptor = artifact_profile.artifact_interceptor
    served: list[str] = []
    blocked: list[tuple[str, str]] = []
    interceptor.served.connect(lambda url, host: served.append(url))
    interceptor.blocked.connect(lambda url, host: blocked.append((url, host)))
    view = make_view()
    page = view.artifact_page
    errors: list[dict] = []
    page.consoleMessage.connect(lambda e: errors.append(e) if e["level"] == "error" else None)
    _load(qtbot, page, artifact_server.put_page("charts", CHART_AND_THREE.format(u=_base(http_server))))
    result = _js(qtbot, page, "window.RESULT")
    assert result == {"chart": "function", "three": "128", "orbit": "function", "meshes": 1}, (result, errors)
    assert errors == []
    assert http_server.hits == []
    assert len(served) == 3, served
    assert blocked == [(f"{_base(http_server)}/unknown-lib.js", "charts")]
    # The chart really drew: the canvas holds red bar pixels.
    red = _js(
        qtbot,
        page,
        """(() => { const c = document.getElementById("c"), d = c.getContext("2d")
             .getImageData(0, 0, c.width, c.height).data; let n = 0;
           for (let i = 0; i < d.length; i += 4) if (d[i] > 150 && d[i + 1] < 80 && d[i + 3] > 200) n++;
           return n; })()""",
    )
    assert isinstance(red, int) and red > 500, red


def test_es_modules_from_cdns_resolve_from_the_pack(
    qtbot, make_page, artifact_server, artifact_profile
) -> None:
    """three's module build and d3's +esm load as modules; a module the pack lacks is blocked, named."""
    blocked: list[str] = []
    artifact_profile.artifact_interceptor.blocked.connect(lambda url, host: blocked.append(url))
    page = make_page()
    _load(qtbot, page, artifact_server.put_page("modules", MODULE_PAGE))
    qtbot.waitUntil(lambda: _js(qtbot, page, "window.D3") == "function", timeout=10000)
    # canvas-confetti is not in the pack: that module graph fails and the request is reported.
    assert any("canvas-confetti" in url for url in blocked), blocked
    assert _js(qtbot, page, "window.RESULT") is None


def test_network_toggle_lets_only_that_artifact_through(
    qtbot, make_page, artifact_server, artifact_profile, http_server
) -> None:
    """Off by default; on for one artifact, its requests reach the server and are reported."""
    interceptor = artifact_profile.artifact_interceptor
    allowed: list[tuple[str, str]] = []
    interceptor.allowedNetwork.connect(lambda url, host: allowed.append((url, host)))
    html = f'<script src="{_base(http_server)}/lib.js"></script><script>window.R = window.FROM_NET || 0;</script>'
    assert not interceptor.network_allowed("net-on")
    interceptor.set_network_allowed("net-on", True)
    page = make_page()
    _load(qtbot, page, artifact_server.put_page("net-on", html))
    assert _js(qtbot, page, "window.R") == 1
    assert http_server.hits == ["/lib.js"]
    assert allowed == [(f"{_base(http_server)}/lib.js", "net-on")]
    other = make_page()
    _load(qtbot, other, artifact_server.put_page("net-off", html))
    assert _js(qtbot, other, "window.R") == 0
    assert http_server.hits == ["/lib.js"]
