"""Hostile pages that try to reach a loopback canary by every route we know (issue: the sandbox leaks).

Each vector is a page template; ``{u}`` is the canary's ``http://127.0.0.1:<port>`` and ``{port}``
its port. The same pages run in the window's preview profile, through ``check``, and (the control)
in a plain, unprotected profile, which must reach the canary with every one of them.
"""

from __future__ import annotations

VECTORS: dict[str, str] = {
    # Bare TCP: preconnects never pass the request interceptor.
    "preconnect": '<link rel="preconnect" href="{u}"><link rel="preconnect" href="{u}" crossorigin>',
    "prefetch": '<link rel="prefetch" href="{u}/prefetch">',
    "preload": '<link rel="preload" as="fetch" href="{u}/preload" crossorigin>'
    '<link rel="preload" as="image" href="{u}/preload.png">',
    "speculation": '<script type="speculationrules">{{"prefetch": [{{"source": "list", "urls": '
    '["{u}/speculate"]}}], "prerender": [{{"source": "list", "urls": ["{u}/prerender"]}}]}}</script>',
    # UDP: an RTCPeerConnection taken from a fresh iframe (the page's own one is removed).
    "webrtc": """<script>
const f = document.createElement("iframe"); document.body.appendChild(f);
try {{
  const PC = f.contentWindow.RTCPeerConnection;
  const pc = new PC({{iceServers: [{{urls: "stun:127.0.0.1:{port}"}},
    {{urls: "turn:127.0.0.1:{port}?transport=udp", username: "u", credential: "c"}}]}});
  pc.createDataChannel("x");
  pc.createOffer().then(o => pc.setLocalDescription(o)).catch(e => console.log("offer failed " + e));
}} catch (e) {{ console.log("webrtc threw " + e); }}
</script>""",
    # UDP: QUIC.
    "webtransport": """<script>
try {{
  const w = new WebTransport("https://127.0.0.1:{port}/wt");
  w.ready.then(() => console.log("webtransport ready"), e => console.log("webtransport failed " + e));
}} catch (e) {{ console.log("webtransport threw " + e); }}
</script>""",
    # The routes the older sandbox tests cover, in short.
    "classic": """<img src="{u}/img.png"><script>
fetch("{u}/fetch").catch(() => {{}});
try {{ new WebSocket("ws://127.0.0.1:{port}/ws"); }} catch (e) {{}}
try {{ navigator.sendBeacon("{u}/beacon", "x"); }} catch (e) {{}}
</script>""",
}


def page(name: str, port: int) -> str:
    """The full page of vector ``name`` aimed at a canary on ``port``."""
    body = VECTORS[name].format(u=f"http://127.0.0.1:{port}", port=port)
    return f"<!doctype html><html><head><title>{name}</title></head><body><p>{name}</p>{body}</body></html>"
