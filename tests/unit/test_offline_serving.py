"""Pack files under an artifact's origin, the interceptor's redirect rule, export and prompt (no Qt app)."""

from __future__ import annotations

import pytest

from studio.core.export import export_html
from studio.core.prompts import default_prompt, offline_libraries
from studio.core.runtime import pack_ready
from studio.core.serving import RESET_DONE_TITLE, RESET_PATH, ArtifactServer, NotFound
from studio.web.interceptor import Request, allowed, pack_redirect

needs_pack = pytest.mark.skipif(
    not pack_ready(), reason="runtime pack not fetched (scripts/fetch_runtime.py)"
)


def _req(url: str, host: str = "art-1", first_scheme: str = "artifact") -> Request:
    scheme = url.split(":", 1)[0]
    return Request(url, scheme, host, f"{first_scheme}://{host}", "ResourceTypeScript", first_scheme)


@needs_pack
def test_the_server_answers_pack_paths_for_any_artifact() -> None:
    server = ArtifactServer()
    mime, data = server.resolve("any-artifact", "/_cdn/cdn.jsdelivr.net/npm/chart.js@4/dist/chart.umd.js")
    assert mime.startswith("text/javascript") and b"Chart" in data and len(data) > 100_000
    mime, data = server.resolve("x", "/_cdn/esm.sh/d3@7.9.0", "")
    assert mime.startswith("text/javascript") and b"export" in data
    with pytest.raises(NotFound):
        server.resolve("x", "/_cdn/cdn.jsdelivr.net/npm/not-a-packed-lib@1/x.js")
    with pytest.raises(NotFound):
        server.resolve("x", "/_cdn/evil.example/chart.js")


def test_the_reset_page_is_served_on_every_origin() -> None:
    server = ArtifactServer()
    mime, data = server.resolve("whatever", RESET_PATH)
    assert mime.startswith("text/html")
    text = data.decode()
    assert "localStorage.clear()" in text and "deleteDatabase" in text and RESET_DONE_TITLE in text


@needs_pack
def test_redirect_rule() -> None:
    assert pack_redirect(_req("https://cdn.jsdelivr.net/npm/chart.js")) == (
        "artifact://art-1/_cdn/cdn.jsdelivr.net/npm/chart.js"
    )
    # A cache-buster is dropped (it would defeat the caches); "external" changes the answer and stays.
    assert pack_redirect(_req("https://unpkg.com/three@0.160.0/build/three.module.js?x=1")) == (
        "artifact://art-1/_cdn/unpkg.com/three@0.160.0/build/three.module.js"
    )
    assert pack_redirect(_req("https://cdn.example.com/chart.js")) is None
    assert pack_redirect(_req("https://cdn.jsdelivr.net/npm/chart.js", first_scheme="https")) is None
    assert pack_redirect(_req("https://cdn.jsdelivr.net/npm/chart.js", host="")) is None
    assert pack_redirect(_req("file:///etc/passwd")) is None
    assert allowed(_req("artifact://art-1/index.html")) and not allowed(_req("https://x.org/"))


@needs_pack
def test_export_inlines_the_runtime() -> None:
    page = '<html><head><script src="https://cdn.jsdelivr.net/npm/chart.js@4"></script></head><body></body></html>'
    out = export_html(page, {})
    assert "https://cdn.jsdelivr.net" not in out and "data:text/javascript" in out
    assert export_html(page, {}, runtime=False, network=True) == page
    with_data = export_html(page, {"a.csv": ("text/csv", b"x,y\n")})
    assert "data:text/javascript" in with_data and "a.csv" in with_data


@needs_pack
def test_default_prompt_lists_the_offline_libraries() -> None:
    libs = offline_libraries()
    assert any(lib.startswith("Chart.js ") for lib in libs) and any(
        lib.startswith("three.js ") for lib in libs
    )
    text = default_prompt("Be brief.")
    assert ", ".join(libs) in text and text.endswith("Be brief.")
    assert "Do not load scripts" not in text


def test_without_the_pack_the_prompt_forbids_cdns(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from studio.core import runtime

    monkeypatch.setenv("STUDIO_RUNTIME_PACK", str(tmp_path / "empty"))
    runtime.default_pack.cache_clear()
    try:
        assert offline_libraries() == []
        assert "Do not load scripts" in default_prompt()
    finally:
        monkeypatch.delenv("STUDIO_RUNTIME_PACK")
        runtime.default_pack.cache_clear()
