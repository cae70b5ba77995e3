"""Open a page in headless Debian Chromium with the network disabled and report what went wrong.

A probe script injected at the top of the page records uncaught errors, unhandled rejections,
``console.error`` calls and failed resource loads into an attribute of ``<html>``; ``--dump-dom``
prints the DOM after load plus a virtual-time budget, so the test reads the errors back from it.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROBE = """<script>(function () {
  var seen = [];
  var root = document.documentElement;
  function push(kind, msg) { seen.push(kind + ": " + msg); root.setAttribute("data-probe", JSON.stringify(seen)); }
  root.setAttribute("data-probe", "[]");
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) { push("resource", t.src || t.href); return; }
    push("error", (e.message || e) + " @" + (e.filename || "").slice(0, 80) + ":" + e.lineno);
  }, true);
  window.addEventListener("unhandledrejection", function (e) {
    var r = e.reason; push("rejection", String(r && (r.message || r) || r));
  });
  var ce = console.error;
  console.error = function () {
    push("console.error", Array.prototype.map.call(arguments, String).join(" "));
    return ce.apply(console, arguments);
  };
  window.addEventListener("load", function () { root.setAttribute("data-probe-loaded", "1"); });
})();</script>"""

NETWORK_OFF = ["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
_CHARSET_RE = re.compile(r"<meta\b[^>]*\bcharset\s*=[^>]*>", re.I)
_HEAD_RE = re.compile(r"<head\b[^>]*>", re.I)


def chromium_binary() -> str | None:
    """Path of Debian's chromium (or another Chromium/Chrome) when installed."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageResult:
    """What a page did: recorded problems, whether ``load`` fired, the DOM, Chromium's stderr."""

    errors: list[str]
    loaded: bool
    dom: str
    stderr: str


def with_probe(page: str) -> str:
    """The page with the probe as its first script (after the charset declaration)."""
    m = _CHARSET_RE.search(page) or _HEAD_RE.search(page)
    return page[: m.end()] + PROBE + page[m.end() :] if m else PROBE + page


def open_page(page: str, budget_ms: int = 4000, timeout: float = 90) -> PageResult:
    """Render ``page`` from a file:// URL in headless Chromium with no network.

    Args:
        page: the HTML text (the probe is added here).
        budget_ms: virtual time the page runs before the DOM is dumped.
        timeout: wall-clock limit in seconds.

    Returns:
        The :class:`PageResult`.
    """
    binary = chromium_binary()
    if binary is None:
        raise RuntimeError("chromium is not installed")
    with tempfile.TemporaryDirectory(prefix="studio-chromium-") as tmp:
        path = Path(tmp) / "page.html"
        path.write_text(with_probe(page), encoding="utf-8")
        cmd = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader",
            "--enable-unsafe-swiftshader", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions",
            f"--user-data-dir={tmp}/profile", *NETWORK_OFF, "--enable-logging=stderr", "--v=0",
            f"--virtual-time-budget={budget_ms}", "--window-size=800,600", "--dump-dom", path.as_uri(),
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    dom = proc.stdout
    m = re.search(r"<html\b[^>]*\bdata-probe=\"([^\"]*)\"", dom)
    errors = json.loads(html.unescape(m.group(1))) if m else ["probe: no report (page did not run)"]
    uncaught = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln and '"Uncaught' in ln]
    errors += [
        f"stderr: {ln.split('] ', 1)[-1][:300]}" for ln in uncaught if not any(e in ln for e in errors)
    ]
    loaded = 'data-probe-loaded="1"' in dom
    return PageResult(errors, loaded, dom, proc.stderr)
