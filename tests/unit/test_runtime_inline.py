"""inline_runtime: CDN scripts, stylesheets and module graphs become inline data the page carries."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from studio.core.extract import extract
from studio.core.runtime import default_pack, pack_file_bytes, resolve_cdn_url
from studio.core.runtime.inline import inline_runtime
from studio.core.standalone import standalone_html

pytestmark = pytest.mark.skipif(
    bool(default_pack().missing()), reason="runtime pack not fetched: run `python scripts/fetch_runtime.py`"
)

CHART_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>c</title>
<script src="https://cdn.jsdelivr.net/npm/chart.js" integrity="sha384-x" crossorigin="anonymous" defer></script>
<script src="https://example.com/analytics.js"></script>
</head><body><canvas id="c"></canvas></body></html>"""


def decode(data_url: str) -> bytes:
    head, _, payload = data_url.partition(",")
    assert head.endswith(";base64")
    return base64.b64decode(payload)


def import_map(page: str) -> dict[str, str]:
    m = re.search(r'<script type="importmap">(.*?)</script>', page, re.S)
    assert m, "page has an import map"
    return json.loads(m.group(1))["imports"]


def test_classic_script_becomes_a_data_url_with_its_attributes() -> None:
    out = inline_runtime(CHART_PAGE)
    tag = re.search(r"<script src=\"(data:[^\"]+)\"([^>]*)>", out)
    assert tag is not None
    assert decode(tag.group(1)) == pack_file_bytes(resolve_cdn_url("https://cdn.jsdelivr.net/npm/chart.js"))
    assert tag.group(2) == " defer", "integrity/crossorigin dropped, defer kept"
    assert '<script src="https://example.com/analytics.js"></script>' in out, "unknown URLs are left alone"
    assert "importmap" not in out
    assert inline_runtime(out) == out, "inlining is idempotent"


def test_stylesheet_becomes_style_with_fonts_inlined() -> None:
    page = (
        '<html><head><link rel="stylesheet" media="screen" '
        'href="https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.0.0/css/all.min.css"></head><body></body></html>'
    )
    out = inline_runtime(page)
    assert out.startswith('<html><head><style media="screen">')
    assert "url(../webfonts/" not in out and 'url("data:font/woff2;base64,' in out
    assert "cdnjs" not in out


@pytest.mark.corpus
def test_corpus_17_import_map_is_served_from_data_urls(corpus_dir: Path) -> None:
    art = extract(next(corpus_dir.glob("17-*.md")).read_text(encoding="utf-8")).artifact
    assert art is not None
    out = inline_runtime(standalone_html(art))
    imports = import_map(out)
    for key in ("preact", "htm/preact", "preact/hooks", "https://esm.sh/preact@10.19.3"):
        assert imports[key].startswith("data:text/javascript;base64,"), key
    assert imports["preact/"] == "https://esm.sh/preact/", "prefix entries stay; exact entries win"
    # one preact instance: the hooks module and the page's "preact" reach the same canonical module
    assert (
        decode(imports["preact/hooks"]).decode() == 'export * from "https://esm.sh/preact@10.19.3/hooks";\n'
    )
    hooks = decode(imports["https://esm.sh/preact@10.19.3/hooks"]).decode()
    assert '"https://esm.sh/preact@10.19.3"' in hooks
    assert decode(imports["preact"]).decode() == 'export * from "https://esm.sh/preact@10.19.3";\n'
    assert "<style>" in out and "unpkg.com/spectre.css" not in out


def test_module_page_without_import_map_gets_one_after_the_charset() -> None:
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><script type="module">\n'
        'import * as THREE from "https://unpkg.com/three@0.160.0/build/three.module.js";\n'
        "import { OrbitControls } from 'https://unpkg.com/three@0.160.0/examples/jsm/controls/OrbitControls.js';\n"
        "</script></body></html>"
    )
    out = inline_runtime(page)
    assert out.startswith('<!DOCTYPE html><html><head><meta charset="utf-8"><script type="importmap">')
    imports = import_map(out)
    three = "https://unpkg.com/three@0.160.0/build/three.module.js"
    orbit = "https://unpkg.com/three@0.160.0/examples/jsm/controls/OrbitControls.js"
    assert set(imports) == {three, orbit}
    # OrbitControls imports bare "three", which this page does not map: left for the browser to report
    assert b"from 'three'" in decode(imports[orbit])


def test_relative_imports_inside_modules_become_absolute() -> None:
    base = "https://cdn.jsdelivr.net/npm/three@0.160.0/"
    page = (
        '<html><head><script type="importmap">{"imports": {"three": "' + base + 'build/three.module.js", '
        '"three/addons/": "' + base + 'examples/jsm/"}}</script></head><body><script type="module">'
        'import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";</script></body></html>'
    )
    imports = import_map(inline_runtime(page))
    gltf = decode(imports["three/addons/loaders/GLTFLoader.js"]).decode()
    dep = base + "examples/jsm/utils/BufferGeometryUtils.js"
    assert f"'{dep}'" in gltf and "'../utils/" not in gltf
    assert imports[dep].startswith("data:") and imports["three"].startswith("data:")
    assert imports["three/addons/"] == base + "examples/jsm/"


def test_module_script_src_is_imported_through_the_map() -> None:
    url = "https://esm.sh/preact@10.19.3"
    out = inline_runtime(
        f'<html><head></head><body><script type="module" src="{url}"></script></body></html>'
    )
    assert f'<script type="module">import "{url}";</script>' in out
    assert import_map(out)[url].startswith("data:")


def test_react_harness_is_fully_inlined() -> None:
    art = extract(
        '```jsx\nimport React from "react";\nexport default function App() {\n  return <p>hi</p>;\n}\n```\n'
    ).artifact
    assert art is not None and art.kind == "react"
    out = inline_runtime(standalone_html(art))
    imports = import_map(out)
    for key in ("react", "react-dom/client", "react/jsx-runtime", "https://esm.sh/react@18.3.1"):
        assert imports[key].startswith("data:"), key
    assert re.search(r'<script src="data:text/javascript;base64,[^"]+" onerror=', out), "Babel is inline"


def test_page_with_nothing_to_inline_is_unchanged() -> None:
    page = "<html><head><script>let a = 1;</script><link rel='icon' href='https://x.org/i.png'></head></html>"
    assert inline_runtime(page) == page
