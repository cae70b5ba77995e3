"""The runtime pack: manifest, CDN URL resolution, version honouring, module answers, serving."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from studio.core import runtime
from studio.core.prompts import system_prompt
from studio.core.runtime import (
    PackFile,
    available_libraries,
    cdn_path,
    default_pack,
    pack_file_bytes,
    resolve_cdn_url,
    serve_cdn_path,
)
from studio.core.runtime.versions import parse_version, version_in, version_range

PACK = default_pack()
needs_pack = pytest.mark.skipif(
    bool(PACK.missing()), reason="runtime pack not fetched: run `python scripts/fetch_runtime.py`"
)


def where(url: str) -> tuple[str, str] | None:
    pf = resolve_cdn_url(url)
    return None if pf is None else (pf.pin, pf.path)


# -- manifest ------------------------------------------------------------------------------------


def test_manifest_lists_the_promised_libraries_with_hashes() -> None:
    names = {e["name"] for e in PACK.entries}
    for needed in (
        "chart.js", "d3", "three", "p5", "plotly.js-dist-min", "matter-js", "@tailwindcss/browser", "react",
        "react-dom", "@babel/standalone", "mermaid", "marked", "@highlightjs/cdn-assets", "animejs", "tone",
        "cannon", "bootstrap", "@fortawesome/fontawesome-free", "axios", "preact", "htm",
    ):  # fmt: skip
        assert needed in names, needed
    for e in PACK.entries:
        assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", e["integrity"]), e["name"]
        assert e["files"] and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in e["files"].values())
        assert e["main"] in e["files"]
        assert all(version_range(r.split()[0].lstrip("><=")) for r in e["honours"])
        assert any(version_in(parse_version(e["version"]), r) for r in e["honours"]), "a pin honours itself"
    for name in names:
        pins = [e for e in PACK.entries if e["name"] == name]
        assert sum(bool(e.get("default")) for e in pins) == 1, name


def test_three_has_a_legacy_and_a_module_pin() -> None:
    legacy = PACK.entry("three", "0.128.0")
    modern = PACK.entry("three", "0.160.0")
    assert "examples/js/controls/OrbitControls.js" in legacy["files"]
    assert not any(p.startswith("examples/js/") for p in modern["files"])
    assert "examples/jsm/controls/OrbitControls.js" in modern["files"]
    # the relative-import closure of the module addons is in the pack
    assert "examples/jsm/utils/BufferGeometryUtils.js" in modern["files"]


@pytest.mark.parametrize(
    ("spec", "rng"),
    [
        ("4.4.1", ((4, 4, 1), (4, 4, 2))),
        ("4", ((4, 0, 0), (5, 0, 0))),
        ("0.160", ((0, 160, 0), (0, 161, 0))),
        ("^4.2.0", ((4, 2, 0), (5, 0, 0))),
        ("^0.150.1", ((0, 150, 1), (0, 151, 0))),
        ("~3.9.0", ((3, 9, 0), (3, 10, 0))),
        ("r128", ((0, 128, 0), (0, 128, 1))),
        ("1.x", ((1, 0, 0), (2, 0, 0))),
        ("v7", ((7, 0, 0), (8, 0, 0))),
        ("next", None),
    ],
)
def test_version_range(spec: str, rng: object) -> None:
    assert version_range(spec) == rng


# -- resolution: URLs seen in the corpus ---------------------------------------------------------


def corpus_urls(corpus_dir: Path, case: str) -> list[str]:
    text = next(corpus_dir.glob(f"{case}-*.md")).read_text(encoding="utf-8")
    return re.findall(r"""(?:src|href)=["'](https?://[^"']+)["']|["'](https://esm\.sh/[^"']+)["']""", text)


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("10", {"https://cdn.jsdelivr.net/npm/@huggingface/transformers": None}),
        (
            "17",
            {
                "https://esm.sh/preact": ("preact@10.19.3", "dist/preact.module.js"),
                "https://esm.sh/preact/": ("preact@10.19.3", "dist/preact.module.js"),  # the prefix itself
                "https://esm.sh/htm/preact?external=preact": ("htm@3.1.1", "preact/index.module.js"),
                "https://unpkg.com/spectre.css/dist/spectre.min.css": (
                    "spectre.css@0.5.9",
                    "dist/spectre.min.css",
                ),
                "https://unpkg.com/spectre.css/dist/spectre-exp.min.css": (
                    "spectre.css@0.5.9",
                    "dist/spectre-exp.min.css",
                ),
                "https://unpkg.com/spectre.css/dist/spectre-icons.min.css": (
                    "spectre.css@0.5.9",
                    "dist/spectre-icons.min.css",
                ),
            },
        ),
        (
            "22",
            {
                "https://cdnjs.cloudflare.com/ajax/libs/three.js/r128/three.min.js": (
                    "three@0.128.0",
                    "build/three.min.js",
                )
            },
        ),
        (
            "23",
            {
                "https://cdnjs.cloudflare.com/ajax/libs/three.js/r128/three.min.js": (
                    "three@0.128.0",
                    "build/three.min.js",
                ),
                "https://cdnjs.cloudflare.com/ajax/libs/cannon.js/0.6.2/cannon.min.js": (
                    "cannon@0.6.2",
                    "build/cannon.min.js",
                ),
            },
        ),
        (
            "24",
            {"https://unpkg.com/three@0.160.0/build/three.min.js": ("three@0.160.0", "build/three.min.js")},
        ),
        (
            "36",
            {
                "https://cdnjs.cloudflare.com/ajax/libs/bootstrap/5.3.0/css/bootstrap.min.css": (
                    "bootstrap@5.3.3",
                    "dist/css/bootstrap.min.css",
                ),
                "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.0.0/css/all.min.css": (
                    "@fortawesome/fontawesome-free@6.5.2",
                    "css/all.min.css",
                ),
                "https://cdnjs.cloudflare.com/ajax/libs/axios/1.4.0/axios.min.js": (
                    "axios@1.7.9",
                    "dist/axios.min.js",
                ),
            },
        ),
    ],
)
def test_corpus_cdn_urls(corpus_dir: Path, case: str, expected: dict[str, object]) -> None:
    found = {a or b for a, b in corpus_urls(corpus_dir, case)}
    assert set(expected) <= found, "the URLs come from the corpus answer"
    for url, want in expected.items():
        assert where(url) == want, url


# -- resolution: typical answers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("https://cdn.jsdelivr.net/npm/chart.js", ("chart.js@4.4.1", "dist/chart.umd.js")),
        ("https://cdn.jsdelivr.net/npm/chart.js@latest/dist/chart.umd.min.js", ("chart.js@4.4.1", "dist/chart.umd.js")),
        ("https://cdn.jsdelivr.net/npm/chart.js@3.9.1/dist/chart.min.js", ("chart.js@4.4.1", "dist/chart.umd.js")),
        ("https://cdn.jsdelivr.net/npm/chart.js@2.9.4/dist/Chart.min.js", ("chart.js@2.9.4", "dist/Chart.min.js")),
        ("https://cdnjs.cloudflare.com/ajax/libs/Chart.js/4.4.0/chart.umd.min.js", ("chart.js@4.4.1", "dist/chart.umd.js")),
        ("https://cdnjs.cloudflare.com/ajax/libs/Chart.js/2.9.3/Chart.bundle.min.js", ("chart.js@2.9.4", "dist/Chart.bundle.min.js")),
        ("https://d3js.org/d3.v7.min.js", ("d3@7.9.0", "dist/d3.min.js")),
        ("https://cdn.jsdelivr.net/npm/d3@7", ("d3@7.9.0", "dist/d3.min.js")),
        ("https://cdnjs.cloudflare.com/ajax/libs/d3/7.8.5/d3.min.js", ("d3@7.9.0", "dist/d3.min.js")),
        ("https://unpkg.com/three@0.150.1/build/three.module.js", ("three@0.160.0", "build/three.module.js")),
        ("https://cdn.jsdelivr.net/npm/three@0.128.0/examples/js/controls/OrbitControls.js",
         ("three@0.128.0", "examples/js/controls/OrbitControls.js")),
        ("https://unpkg.com/three@0.160.0/examples/jsm/controls/OrbitControls.js?v=1",
         ("three@0.160.0", "examples/jsm/controls/OrbitControls.js")),
        ("https://threejs.org/examples/js/controls/OrbitControls.js", ("three@0.128.0", "examples/js/controls/OrbitControls.js")),
        ("https://cdnjs.cloudflare.com/ajax/libs/three.js/0.160.0/three.module.min.js",
         ("three@0.160.0", "build/three.module.min.js")),
        ("https://cdnjs.cloudflare.com/ajax/libs/Chart.js/3.7.0/chart.min.js", ("chart.js@4.4.1", "dist/chart.umd.js")),
        ("https://cdnjs.cloudflare.com/ajax/libs/p5.js/1.4.0/p5.js", ("p5@1.9.4", "lib/p5.min.js")),  # same code, minified
        ("https://unpkg.com/three@0.128.0/build/three.js", ("three@0.128.0", "build/three.min.js")),
        ("https://cdnjs.cloudflare.com/ajax/libs/p5.js/1.9.0/addons/p5.sound.min.js", ("p5@1.9.4", "lib/addons/p5.sound.min.js")),
        ("https://cdn.plot.ly/plotly-2.27.0.min.js", ("plotly.js-dist-min@2.35.2", "plotly.min.js")),
        ("https://cdn.plot.ly/plotly-latest.min.js", ("plotly.js-dist-min@2.35.2", "plotly.min.js")),
        ("https://cdn.jsdelivr.net/npm/plotly.js-dist@2/plotly.js", ("plotly.js-dist-min@2.35.2", "plotly.min.js")),
        ("https://cdnjs.cloudflare.com/ajax/libs/matter-js/0.18.0/matter.min.js", ("matter-js@0.19.0", "build/matter.min.js")),
        ("https://cdn.tailwindcss.com", ("@tailwindcss/browser@4.1.4", "dist/index.global.js")),
        ("https://cdn.tailwindcss.com/3.4.1?plugins=forms,typography", ("@tailwindcss/browser@4.1.4", "dist/index.global.js")),
        ("https://unpkg.com/react@18/umd/react.development.js", ("react@18.3.1", "umd/react.development.js")),
        ("https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js",
         ("react-dom@18.3.1", "umd/react-dom.production.min.js")),
        ("https://cdnjs.cloudflare.com/ajax/libs/react/18.2.0/umd/react.production.min.js",
         ("react@18.3.1", "umd/react.production.min.js")),
        ("https://unpkg.com/@babel/standalone/babel.min.js", ("@babel/standalone@7.26.4", "babel.min.js")),
        ("https://cdnjs.cloudflare.com/ajax/libs/babel-standalone/7.23.5/babel.min.js", ("@babel/standalone@7.26.4", "babel.min.js")),
        ("https://cdn.jsdelivr.net/npm/mermaid@10/dist/mermaid.min.js", ("mermaid@11.4.1", "dist/mermaid.min.js")),
        ("https://cdn.jsdelivr.net/npm/marked/marked.min.js", ("marked@12.0.2", "marked.min.js")),
        ("https://cdnjs.cloudflare.com/ajax/libs/highlight.js/11.9.0/highlight.min.js",
         ("@highlightjs/cdn-assets@11.9.0", "highlight.min.js")),
        ("https://cdnjs.cloudflare.com/ajax/libs/highlight.js/11.8.0/styles/atom-one-dark.min.css",
         ("@highlightjs/cdn-assets@11.9.0", "styles/atom-one-dark.min.css")),
        ("https://cdn.jsdelivr.net/gh/highlightjs/cdn-release@11.9.0/build/styles/default.min.css",
         ("@highlightjs/cdn-assets@11.9.0", "styles/default.min.css")),
        ("https://cdnjs.cloudflare.com/ajax/libs/animejs/3.2.1/anime.min.js", ("animejs@3.2.2", "lib/anime.min.js")),
        ("https://cdnjs.cloudflare.com/ajax/libs/tone/14.8.49/Tone.js", ("tone@14.7.77", "build/Tone.js")),
        ("https://unpkg.com/tone", ("tone@14.7.77", "build/Tone.js")),
        ("https://code.jquery.com/jquery-3.6.0.min.js", ("jquery@3.7.1", "dist/jquery.min.js")),
        ("https://code.jquery.com/jquery-3.7.1.slim.min.js", ("jquery@3.7.1", "dist/jquery.slim.min.js")),
        ("//cdnjs.cloudflare.com/ajax/libs/jquery/3.5.1/jquery.min.js", ("jquery@3.7.1", "dist/jquery.min.js")),
        ("https://cdn.jsdelivr.net/npm/bootstrap@5.3.2/dist/js/bootstrap.bundle.min.js",
         ("bootstrap@5.3.3", "dist/js/bootstrap.bundle.min.js")),
        ("https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.4.0/webfonts/fa-solid-900.woff2",
         ("@fortawesome/fontawesome-free@6.5.2", "webfonts/fa-solid-900.woff2")),
    ],
)  # fmt: skip
def test_typical_cdn_urls(url: str, want: tuple[str, str]) -> None:
    assert where(url) == want


@pytest.mark.parametrize(
    "url",
    [
        "https://unpkg.com/react@17/umd/react.production.min.js",  # React 17 is not honoured by 18
        "https://cdn.jsdelivr.net/npm/three@0.140.0/examples/js/controls/OrbitControls.js",  # no pin for r140
        "https://unpkg.com/three@0.170.0/build/three.module.js",
        "https://cdn.jsdelivr.net/npm/chart.js@1.0.2/Chart.min.js",
        "https://cdn.jsdelivr.net/npm/mermaid@11/dist/mermaid.esm.min.mjs",  # ESM chunks are not packed
        "https://cdn.jsdelivr.net/npm/d3@5/dist/d3.min.js",
        "https://unpkg.com/animejs@4.0.0/lib/anime.min.js",
        "https://cdn.jsdelivr.net/npm/chart.js@4.4.1/dist/no-such-file.js",
        "https://example.com/three.min.js",
        "https://cdnjs.cloudflare.com/ajax/libs/vue/3.3.4/vue.global.min.js",
        "file:///tmp/three.min.js",
        "data:text/javascript,1",
    ],
)
def test_urls_the_pack_does_not_honour(url: str) -> None:
    assert resolve_cdn_url(url) is None


# -- modules -------------------------------------------------------------------------------------


def test_esm_aliases_share_one_canonical_module() -> None:
    bare = resolve_cdn_url("https://esm.sh/preact")
    ranged = resolve_cdn_url("https://esm.sh/v135/preact@^10.5.0")
    exact = resolve_cdn_url("https://esm.sh/preact@10.19.3")
    assert bare and ranged and exact
    assert bare.stub and ranged.stub and not exact.stub
    assert bare.canonical == ranged.canonical == exact.canonical == "https://esm.sh/preact@10.19.3"
    assert resolve_cdn_url("https://esm.sh/preact/hooks") == PackFile(
        "preact", "10.19.3", "hooks/dist/hooks.module.js", "text/javascript", "hooks",
        "https://esm.sh/preact@10.19.3/hooks", True,
    )  # fmt: skip


def test_jsdelivr_esm_and_skypack_are_modules() -> None:
    for url in (
        "https://cdn.jsdelivr.net/npm/d3@7/+esm",
        "https://cdn.skypack.dev/d3",
        "https://unpkg.com/d3@7?module",
    ):
        pf = resolve_cdn_url(url)
        assert pf is not None and pf.module == "" and pf.canonical == "https://esm.sh/d3@7.9.0", url
    pf = resolve_cdn_url("https://cdn.jsdelivr.net/npm/marked@12/lib/marked.esm.js/+esm")
    assert pf is not None and pf.path == "lib/marked.esm.js"


@needs_pack
def test_stub_reexports_default_only_when_the_module_has_one() -> None:
    preact = pack_file_bytes(resolve_cdn_url("https://esm.sh/preact")).decode()
    assert preact == 'export * from "https://esm.sh/preact@10.19.3";\n'
    react = pack_file_bytes(resolve_cdn_url("https://esm.sh/react@18")).decode()
    assert 'export { default } from "https://esm.sh/react@18.3.1";' in react


@needs_pack
def test_module_bare_imports_go_to_canonical_urls_unless_external() -> None:
    hooks = pack_file_bytes(resolve_cdn_url("https://esm.sh/preact@10.19.3/hooks")).decode()
    assert '"https://esm.sh/preact@10.19.3"' in hooks and 'from"preact"' not in hooks.replace(" ", "")
    htm = pack_file_bytes(resolve_cdn_url("https://esm.sh/htm@3.1.1/preact?external=preact")).decode()
    assert re.search(r"""from\s*["']preact["']""", htm), "external stays bare for the page's import map"
    assert "https://esm.sh/htm@3.1.1" in htm
    orbit = pack_file_bytes(
        resolve_cdn_url("https://esm.sh/three@0.160.0/addons/controls/OrbitControls.js")
    ).decode()
    assert "from 'https://esm.sh/three@0.160.0'" in orbit
    raw = pack_file_bytes(
        resolve_cdn_url("https://unpkg.com/three@0.160.0/examples/jsm/controls/OrbitControls.js")
    )
    assert b"from 'three'" in raw, "plain CDN files are served byte for byte"


@needs_pack
def test_umd_wrapper_and_jsx_runtime() -> None:
    react = pack_file_bytes(resolve_cdn_url("https://esm.sh/react@18.3.1")).decode()
    assert react.startswith('if (!globalThis["React"])') and "export default __g;" in react
    assert "__x_useState as useState" in react and 'const __x_useState = __g["useState"];' in react
    client = pack_file_bytes(
        resolve_cdn_url("https://esm.sh/react-dom@18.3.1/client?external=react")
    ).decode()
    assert client.startswith('import "react";') and "__x_createRoot as createRoot, __x_hydrateRoot" in client
    jsx = pack_file_bytes(resolve_cdn_url("https://esm.sh/react@18.3.1/jsx-runtime")).decode()
    assert 'import React from "https://esm.sh/react@18.3.1";' in jsx and "export const jsxs = jsx;" in jsx
    d3 = pack_file_bytes(resolve_cdn_url("https://cdn.jsdelivr.net/npm/d3@7/+esm")).decode()
    assert "export { default }" in d3


# -- bytes, serving, prompt ----------------------------------------------------------------------


@needs_pack
def test_pack_bytes_match_the_manifest_hashes() -> None:
    for url in (
        "https://cdnjs.cloudflare.com/ajax/libs/three.js/r128/three.min.js",
        "https://cdn.jsdelivr.net/npm/chart.js",
        "https://cdn.tailwindcss.com",
    ):
        pf = resolve_cdn_url(url)
        assert pf is not None
        digest = hashlib.sha256(pack_file_bytes(pf)).hexdigest()
        assert digest == PACK.entry(pf.package, pf.version)["files"][pf.path]


@needs_pack
def test_cdn_path_round_trip() -> None:
    url = "https://esm.sh/htm/preact?external=preact"
    path = cdn_path(url)
    assert path == "/_cdn/esm.sh/htm/preact?external=preact"
    mime, body = serve_cdn_path(*path.split("?", 1))
    assert mime == "text/javascript; charset=utf-8" and body == pack_file_bytes(resolve_cdn_url(url))
    assert cdn_path("https://example.com/x.js") is None
    with pytest.raises(LookupError):
        serve_cdn_path("/_cdn/example.com/x.js")
    with pytest.raises(LookupError):
        serve_cdn_path("/index.html")


def test_missing_pack_files_raise_a_clear_error(tmp_path: Path) -> None:
    pack = runtime.Pack(PACK.manifest, tmp_path)
    pf = resolve_cdn_url("https://cdn.jsdelivr.net/npm/chart.js", pack)
    assert pf is not None
    with pytest.raises(runtime.PackMissing, match="fetch_runtime.py"):
        pack_file_bytes(pf, pack)
    assert len(pack.missing()) == sum(len(e["files"]) for e in PACK.entries)


def test_available_libraries_feed_the_system_prompt() -> None:
    libs = available_libraries()
    assert "Chart.js 4.4.1 (also 2.9.4)" in libs and "three.js 0.160.0 (also 0.128.0)" in libs
    assert any(lib.startswith("React 18.3.1") for lib in libs)
    prompt = system_prompt(libraries=libs)
    assert "D3 7.9.0" in prompt and "available offline" in prompt


def test_manifest_is_valid_json_with_no_unknown_hosts() -> None:
    text = (Path(runtime.__file__).parents[3] / "resources" / "runtime" / "manifest.json").read_text()
    manifest = json.loads(text)
    hosts = {p["host"] for e in manifest["packages"] for p in e.get("patterns", [])}
    assert hosts == {
        "d3js.org",
        "cdn.plot.ly",
        "cdn.tailwindcss.com",
        "cdn.jsdelivr.net",
        "code.jquery.com",
        "threejs.org",
    }


def test_default_eval_prompts_cover_the_categories_and_name_pack_libraries() -> None:
    path = Path(runtime.__file__).parents[3] / "resources" / "eval" / "prompts.json"
    prompts = json.loads(path.read_text(encoding="utf-8"))["prompts"]
    assert len(prompts) == 20 and len({p["id"] for p in prompts}) == 20
    assert {"game", "simulation", "chart", "svg", "form", "3d"} <= {p["category"] for p in prompts}
    labels = {e["label"] for e in PACK.entries}
    assert all(lib in labels for p in prompts for lib in p["uses"])
    assert all(p["kind"] in ("html", "svg", "react") and len(p["prompt"]) > 40 for p in prompts)


def test_library_hints_name_urls_the_pack_serves() -> None:
    hints = runtime.library_hints()
    assert len(hints) == len(available_libraries())
    urls = [u.rstrip(",") for h in hints for u in re.findall(r"https://[^\s)]+", h)]
    assert len(urls) >= len(hints)
    for url in urls:
        if not url.endswith("/"):
            assert resolve_cdn_url(url) is not None, url
