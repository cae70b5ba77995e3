"""Export an artifact version as one standalone .html that works offline.

Attached data files the artifact reads with ``fetch("data/<name>")`` are embedded (base64) and a
tiny fetch shim, placed before any of the page's own scripts, serves them from memory. CDN
libraries the offline runtime pack serves are inlined (:func:`studio.core.runtime.inline.inline_runtime`).
"""

from __future__ import annotations

import base64
import json
import logging
import re

from studio.core.bridge import EXPORTED

log = logging.getLogger(__name__)

_SHIM = """<script>/* artifacts-studio: embedded data files, served to fetch("data/<name>") offline */
(() => {
  const files = %s;
  const realFetch = window.fetch ? window.fetch.bind(window) : null;
  const nameOf = (input) => {
    let url = typeof input === "string" ? input : (input && input.url) || String(input);
    url = url.split("#")[0].split("?")[0];
    const m = /(?:^|\\/)data\\/([^\\/]+)$/.exec(url);
    if (!m) return null;
    let name = m[1];
    try { name = decodeURIComponent(name); } catch (e) {}
    return Object.prototype.hasOwnProperty.call(files, name) ? name : null;
  };
  const bytesOf = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  window.fetch = (input, init) => {
    const name = nameOf(input);
    if (name === null) {
      return realFetch ? realFetch(input, init) : Promise.reject(new TypeError("fetch unavailable"));
    }
    const [mime, b64] = files[name];
    return Promise.resolve(new Response(new Blob([bytesOf(b64)], {type: mime}),
                                        {status: 200, headers: {"Content-Type": mime}}));
  };
})();
</script>"""

# window.studio needs the app's model: in an exported file every call rejects with a clear message and
# ``window.studio.available`` is false, so the page can show a fallback (core/bridge.py: EXPORTED).
_STUDIO_STUB = """<script>/* artifacts-studio: window.studio needs the app; here it rejects */
(() => {
  if (window.studio) return;
  const fail = () => Promise.reject(new Error(%s));
  const stream = () => ({[Symbol.asyncIterator]() { return this; }, next: fail,
                         return: () => Promise.resolve({value: undefined, done: true})});
  window.studio = Object.freeze({available: false, complete: fail, stream});
})();
</script>"""
_USES_STUDIO = re.compile(r"\bstudio\s*(?:\.|\?\.)\s*(?:complete|stream|available)\b")

# What an exported page may do when its artifact's Network toggle was off: run its own inline code
# and the inlined libraries, read data:/blob: URLs; nothing from or to the network (no fetch, no
# images, fonts, frames or forms elsewhere).
EXPORT_CSP = (
    "default-src 'none'; "
    "script-src 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval' data: blob:; "
    "style-src 'unsafe-inline' data: blob:; "
    "img-src data: blob:; font-src data: blob:; media-src data: blob:; "
    "connect-src data: blob:; worker-src data: blob:; frame-src data: blob:; "
    "form-action 'none'; base-uri 'none'"
)
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{EXPORT_CSP}">'

_HEAD_OPEN = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HTML_OPEN = re.compile(r"<html\b[^>]*>", re.IGNORECASE)
_DOCTYPE = re.compile(r"^\s*<!doctype[^>]*>", re.IGNORECASE)


def with_runtime(html: str) -> str:
    """The page with the runtime pack's files inlined (unchanged when the pack is not fetched)."""
    from studio.core.runtime import PackMissing
    from studio.core.runtime.inline import inline_runtime

    try:
        return inline_runtime(html)
    except PackMissing as exc:
        log.warning("exported without the offline libraries: %s", exc)
        return html


def data_shim(files: dict[str, tuple[str, bytes]]) -> str:
    """The <script> that serves ``files`` (name -> (mime, bytes)) to fetch("data/<name>")."""
    table = {name: [mime, base64.b64encode(data).decode("ascii")] for name, (mime, data) in files.items()}
    # "<" escaped so no name can close the script element.
    return _SHIM % json.dumps(table, sort_keys=True).replace("<", "\\u003c")


def studio_stub(html: str) -> str:
    """The <script> that makes ``window.studio`` reject, when ``html`` uses it ('' otherwise)."""
    return _STUDIO_STUB % json.dumps(EXPORTED) if _USES_STUDIO.search(html) else ""


def export_html(
    html: str, files: dict[str, tuple[str, bytes]], *, runtime: bool = True, network: bool = False
) -> str:
    """Make one standalone page.

    Args:
        html: the artifact's page (as rendered).
        files: the artifact's data files, name -> (mime, data); may be empty.
        runtime: inline every CDN library the offline runtime pack serves, so the page needs no
            network (unknown URLs are left as they are).
        network: the artifact's Network toggle was on: no Content-Security-Policy is added. Off:
            :data:`CSP_META` goes first in <head>, so the page reaches no network in a browser either.

    Returns:
        The page, with the runtime and data embedded, the CSP, the fetch shim and (when the page uses
        it) the rejecting ``window.studio`` first in <head>.
    """
    if runtime:
        html = with_runtime(html)
    head = ("" if network else CSP_META) + (data_shim(files) if files else "") + studio_stub(html)
    if not head:
        return html
    for pattern in (_HEAD_OPEN, _HTML_OPEN, _DOCTYPE):
        match = pattern.search(html)
        if match:
            return html[: match.end()] + head + html[match.end() :]
    return head + html
