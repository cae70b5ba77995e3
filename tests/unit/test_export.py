"""export_html: embedded data files and the fetch shim (no Qt; the shim is run in test_checker)."""

from __future__ import annotations

import base64
import json
import re

from studio.core.export import CSP_META, data_shim, export_html

FILES = {
    "x.csv": ("text/csv", b"a,b\n1,2\n"),
    "p</script>.bin": ("application/octet-stream", bytes(range(256))),
}


def _table(page: str) -> dict:
    match = re.search(r"const files = (\{.*?\});\n", page)
    assert match, page[:300]
    return json.loads(match.group(1))


def test_without_files_or_csp_the_page_is_unchanged() -> None:
    html = "<!doctype html><html><body>x</body></html>"
    assert export_html(html, {}, network=True) == html


def test_the_csp_goes_first_unless_the_network_was_on() -> None:
    html = "<!doctype html><html><head><script>fetch('https://x.example/')</script></head></html>"
    out = export_html(html, FILES)
    assert out.startswith("<!doctype html><html><head>" + CSP_META + "<script>")
    assert out.index(CSP_META) < out.index("const files") < out.index("fetch('https://x.example/')")
    assert "default-src 'none'" in CSP_META and "'unsafe-inline'" in CSP_META
    assert "data: blob:" in CSP_META and "connect-src data: blob:" in CSP_META
    assert CSP_META not in export_html(html, FILES, network=True)


def test_shim_goes_first_in_head_before_the_page_scripts() -> None:
    html = "<!doctype html><html><head><script>fetch('data/x.csv')</script></head><body></body></html>"
    out = export_html(html, FILES, network=True)
    assert out.index("const files") < out.index("fetch('data/x.csv')")
    assert out.startswith("<!doctype html><html><head><script>")
    assert out.endswith("<body></body></html>")


def test_data_round_trips_byte_for_byte() -> None:
    table = _table(export_html("<p>hi</p>", FILES))
    assert set(table) == set(FILES)
    for name, (mime, data) in FILES.items():
        assert table[name][0] == mime
        assert base64.b64decode(table[name][1]) == data


def test_names_cannot_close_the_script_element() -> None:
    shim = data_shim(FILES)
    body = shim[len("<script>") : -len("</script>")]
    assert "</script" not in body.lower()


def test_pages_without_head_or_html_get_the_shim_first() -> None:
    assert export_html("<html><body>1</body></html>", FILES, network=True).startswith("<html><script>")
    assert export_html("<svg></svg>", FILES, network=True).startswith("<script>")
    assert export_html("<!DOCTYPE html><p>x</p>", FILES).startswith("<!DOCTYPE html>" + CSP_META + "<script>")
