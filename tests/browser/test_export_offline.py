"""Exported pages open with no network in a real browser (headless Debian Chromium).

Pages are run through :func:`inline_runtime`, written to a file and opened with every http(s)
request sent to a dead proxy; a probe records uncaught errors, rejections, console errors and failed
resource loads. A control proves the network really is off: the same page, not inlined, fails.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from chromium import PageResult, chromium_binary, open_page

from studio.core.export import export_html
from studio.core.extract import extract
from studio.core.runtime import default_pack
from studio.core.runtime.inline import inline_runtime
from studio.core.standalone import ERROR_PREFIX, standalone_html

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        chromium_binary() is None, reason="chromium is not installed (Debian: apt-get install -y chromium)"
    ),
    pytest.mark.skipif(
        bool(default_pack().missing()),
        reason="runtime pack not fetched: run `python scripts/fetch_runtime.py`",
    ),
]


def exported(page: str) -> str:
    """The page as Export writes it with the Network toggle off: runtime inlined, CSP first."""
    return export_html(page, {})


def corpus_page(corpus_dir: Path, case: str) -> str:
    art = extract(next(corpus_dir.glob(f"{case}-*.md")).read_text(encoding="utf-8")).artifact
    assert art is not None
    return standalone_html(art)


def text_of(result: PageResult) -> str:
    body = result.dom[result.dom.find("<body") :]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


@pytest.mark.corpus
def test_not_inlined_page_fails_offline(corpus_dir: Path) -> None:
    result = open_page(corpus_page(corpus_dir, "22"))
    assert any("cdnjs.cloudflare.com" in e for e in result.errors), result.errors
    assert any("THREE is not defined" in e for e in result.errors), result.errors


@pytest.mark.corpus
@pytest.mark.parametrize("case", ["22", "23", "24"])
def test_three_js_corpus_answers_render_offline(corpus_dir: Path, case: str) -> None:
    page = inline_runtime(corpus_page(corpus_dir, case))
    assert "cdnjs.cloudflare.com/ajax" not in page and "unpkg.com/three" not in page
    result = open_page(page)
    assert result.loaded and result.errors == []
    assert "<canvas" in result.dom


@pytest.mark.corpus
def test_preact_import_map_answer_renders_offline(corpus_dir: Path) -> None:
    result = open_page(exported(corpus_page(corpus_dir, "17")))
    assert result.loaded and result.errors == []
    assert "Detect Objects" in text_of(result), "the Preact app rendered"


def test_chart_js_page_draws_offline() -> None:
    page = """<!DOCTYPE html><html><head><meta charset="utf-8">
<script src="https://cdn.jsdelivr.net/npm/chart.js"></script></head>
<body><canvas id="c" width="400" height="200"></canvas><script>
const chart = new Chart(document.getElementById("c"), {type: "bar",
  data: {labels: ["a", "b", "c"], datasets: [{label: "n", data: [3, 1, 2]}]}, options: {animation: false}});
const px = document.getElementById("c").getContext("2d").getImageData(0, 0, 400, 200).data;
let inked = 0; for (let i = 3; i < px.length; i += 4) if (px[i]) inked++;
document.body.dataset.result = "v" + Chart.version + " bars=" + chart.getDatasetMeta(0).data.length + " inked=" + inked;
</script></body></html>"""
    result = open_page(exported(page))
    assert result.errors == []
    m = re.search(r'data-result="v4\.4\.1 bars=3 inked=(\d+)"', result.dom)
    assert m and int(m.group(1)) > 1000, result.dom[:300]


def test_three_module_build_with_addons_renders_offline() -> None:
    page = """<!DOCTYPE html><html><head><meta charset="utf-8">
<script type="importmap">{"imports": {"three": "https://unpkg.com/three@0.160.0/build/three.module.js",
  "three/addons/": "https://unpkg.com/three@0.160.0/examples/jsm/"}}</script></head><body>
<script type="module">
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { RoundedBoxGeometry } from "three/addons/geometries/RoundedBoxGeometry.js";
const renderer = new THREE.WebGLRenderer();
renderer.setSize(200, 200);
document.body.appendChild(renderer.domElement);
const scene = new THREE.Scene();
const camera = new THREE.PerspectiveCamera(50, 1, 0.1, 100);
camera.position.z = 4;
const controls = new OrbitControls(camera, renderer.domElement);
scene.add(new THREE.Mesh(new RoundedBoxGeometry(1, 1, 1, 2, 0.1), new THREE.MeshNormalMaterial()));
renderer.render(scene, camera);
document.body.dataset.result = "r" + THREE.REVISION + " controls=" + (controls.object === camera);
</script></body></html>"""
    result = open_page(exported(page))
    assert result.errors == []
    assert 'data-result="r160 controls=true"' in result.dom


def test_d3_esm_and_tailwind_play_cdn_offline() -> None:
    page = """<!DOCTYPE html><html><head><meta charset="utf-8">
<script src="https://cdn.tailwindcss.com"></script></head><body>
<p id="p" class="text-red-500">x</p><svg id="s" width="100" height="100"></svg>
<script type="module">
import * as d3 from "https://cdn.jsdelivr.net/npm/d3@7/+esm";
d3.select("#s").selectAll("circle").data([1, 2, 3]).join("circle").attr("r", 5).attr("cx", d => d * 20).attr("cy", 50);
setTimeout(() => { document.body.dataset.result = "d3=" + d3.version + " color=" + getComputedStyle(document.getElementById("p")).color; }, 500);
</script></body></html>"""
    result = open_page(exported(page))
    assert result.errors == []
    assert result.dom.count("<circle") == 3
    m = re.search(r'data-result="d3=7\.9\.0 color=([^"]+)"', result.dom)
    assert m and m.group(1) not in ("rgb(0, 0, 0)", ""), "tailwind styled the text"


def test_classic_builds_of_the_pack_load_offline() -> None:
    libs = {
        "https://cdn.jsdelivr.net/npm/p5@1/lib/p5.min.js": "p5",
        "https://cdn.plot.ly/plotly-2.27.0.min.js": "Plotly",
        "https://cdnjs.cloudflare.com/ajax/libs/matter-js/0.19.0/matter.min.js": "Matter",
        "https://cdnjs.cloudflare.com/ajax/libs/animejs/3.2.1/anime.min.js": "anime",
        "https://cdnjs.cloudflare.com/ajax/libs/tone/14.8.49/Tone.js": "Tone",
        "https://cdn.jsdelivr.net/npm/marked/marked.min.js": "marked",
        "https://cdnjs.cloudflare.com/ajax/libs/highlight.js/11.9.0/highlight.min.js": "hljs",
        "https://cdn.jsdelivr.net/npm/mermaid@10/dist/mermaid.min.js": "mermaid",
        "https://code.jquery.com/jquery-3.7.1.min.js": "jQuery",
        "https://cdnjs.cloudflare.com/ajax/libs/cannon.js/0.6.2/cannon.min.js": "CANNON",
        "https://cdn.jsdelivr.net/npm/bootstrap@5.3.2/dist/js/bootstrap.bundle.min.js": "bootstrap",
        "https://unpkg.com/react@18/umd/react.production.min.js": "React",
        "https://unpkg.com/react-dom@18/umd/react-dom.production.min.js": "ReactDOM",
        "https://unpkg.com/@babel/standalone/babel.min.js": "Babel",
    }
    tags = "\n".join(f'<script src="{u}"></script>' for u in libs)
    check = " + ".join(f'(typeof {g} === "undefined" ? "{g} " : "")' for g in libs.values())
    page = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8">{tags}</head><body>'
        f'<script>document.body.dataset.missing = "[" + ({check}) + "]";</script></body></html>'
    )
    result = open_page(exported(page))
    assert result.errors == []
    assert 'data-missing="[]"' in result.dom


def test_react_component_renders_offline() -> None:
    src = (
        'import React, { useState } from "react";\n'
        "export default function Counter({ start = 2 }: { start?: number }) {\n"
        "  const [n] = useState<number>(start);\n"
        "  return <><h1>Count {n}</h1><ul>{[1, 2].map((i) => <li key={i}>item {i}</li>)}</ul></>;\n"
        "}\n"
    )
    art = extract(f"```tsx\n{src}```\n").artifact
    assert art is not None and art.kind == "react"
    result = open_page(exported(standalone_html(art)), budget_ms=6000)
    assert result.errors == []
    assert "Count 2 item 1 item 2" in text_of(result)


@pytest.mark.corpus
@pytest.mark.parametrize(("case", "module"), [("37", "use-fireproof"), ("38", "use-fireproof")])
def test_react_answer_with_an_unpacked_import_gives_one_clear_message(
    corpus_dir: Path, case: str, module: str
) -> None:
    result = open_page(exported(corpus_page(corpus_dir, case)), budget_ms=6000)
    assert len(result.errors) == 1, result.errors
    assert result.errors[0].startswith(f'console.error: {ERROR_PREFIX} could not load module "{module}"')


@pytest.mark.corpus
def test_react_tsx_answer_16_compiles_and_runs_offline(corpus_dir: Path) -> None:
    # The component requires props the harness cannot know; React and Babel load from the pack and the
    # only error is the component's own TypeError on its missing props.
    result = open_page(exported(corpus_page(corpus_dir, "16")), budget_ms=6000)
    assert not any(ERROR_PREFIX in e for e in result.errors), result.errors
    assert result.errors and all("reading 'filter'" in e for e in result.errors)


def test_umd_builds_wrapped_as_modules_work_offline() -> None:
    page = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><script type="module">
import * as Tone from "https://esm.sh/tone@14.7.77";
import Matter from "https://esm.sh/matter-js@0.19";
import { Engine } from "https://cdn.skypack.dev/matter-js";
import { Chart } from "https://esm.sh/chart.js@4/auto";
import Plotly from "https://esm.sh/plotly.js-dist-min@2";
import $ from "https://esm.sh/jquery@3";
import { marked } from "https://esm.sh/marked@12";
import anime from "https://esm.sh/animejs@3.2.2";
document.body.dataset.result = [typeof Tone.Synth, Matter.Engine === Engine, typeof Chart, typeof Plotly.newPlot,
  typeof $.fn.jquery, marked.parse("*a*").trim(), typeof anime].join("|");
</script></body></html>"""
    result = open_page(exported(page))
    assert result.errors == []
    assert (
        'data-result="function|true|function|function|string|&lt;p&gt;&lt;em&gt;a&lt;/em&gt;&lt;/p&gt;|function"'
        in result.dom
    )


@pytest.mark.corpus
def test_bootstrap_font_awesome_axios_answer_loads_offline(corpus_dir: Path) -> None:
    # Case 36 calls a remote API with axios on load: that call fails offline (its own network use,
    # not a library). Bootstrap, Font Awesome (with its fonts) and axios themselves come inline.
    page = inline_runtime(corpus_page(corpus_dir, "36"))
    assert "cdnjs.cloudflare.com" not in page
    page = page.replace(
        "</body>",
        "<script>document.fonts.ready.then(() => { document.body.dataset.fa = "
        '[...document.fonts].some(f => f.family.includes("Font Awesome") && f.status === "loaded"); '
        "document.body.dataset.bs = getComputedStyle(document.body).fontFamily; });</script></body>",
    )
    result = open_page(page)
    assert result.loaded
    assert result.errors and all("Network Error" in e for e in result.errors), result.errors
    assert 'data-fa="true"' in result.dom and "system-ui" in result.dom


def test_the_export_csp_stops_the_network_in_a_browser() -> None:
    """With the toggle off the exported page cannot fetch, load images or connect; on, it may try."""
    page = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><script>
document.addEventListener("securitypolicyviolation", e => console.error("csp " + e.violatedDirective));
fetch("https://example.com/x").catch(e => {});
new Image().src = "https://example.com/i.png";
</script></body></html>"""
    result = open_page(exported(page))
    assert any("csp connect-src" in e for e in result.errors), result.errors
    assert any("csp img-src" in e for e in result.errors), result.errors
    control = open_page(export_html(page, {}, network=True))
    assert not any(e.startswith("csp") or " csp " in e for e in control.errors), control.errors
