"""What window.studio costs: the bridge's round trip, and the system prompt's one sentence about it.

1. Round trip: an artifact page makes ``--calls`` sequential ``window.studio.complete`` calls that a host
   answers at once (no model): page -> isolated world -> QWebChannel -> Python -> page, in the real
   sandboxed profile. Milliseconds per call (median, p95), measured in the page (performance.now()).
2. Prompt cost: the default system prompt's tokens with and without :data:`studio.core.prompts.MODEL_API`
   (the real SmolLM2 tokenizer) and the time to first token of a one-line question under each, on the
   real SmolLM2 through the llama.cpp engine (median of ``--reps``, interleaved, a fresh engine per run).

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bridge.py [--calls 200] [--reps 5]``
(part 2 needs the real model: ``python scripts/fetch_model.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
sys.path.insert(0, str(REPO))

PAGE = """<!DOCTYPE html><html><body><script>
window.bench = async (n) => {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await window.studio.complete("ping " + i, {max_tokens: 1});
    ms.push(performance.now() - t0);
  }
  window.benchOut = ms;
};
</script></body></html>"""


def round_trip(calls: int) -> list[float]:
    """Milliseconds per call, measured in the page."""
    import shiboken6
    from PySide6.QtCore import QEventLoop, QObject, QTimer, QUrl

    from studio.app import create_application
    from studio.core.serving import ArtifactServer
    from studio.web.bridge import attach_bridge
    from studio.web.page import ArtifactPage
    from studio.web.profile import build_artifact_profile

    class Echo(QObject):
        def submit(self, endpoint, call) -> None:  # type: ignore[no-untyped-def]
            endpoint.resolve(call.call_id, "pong")

        def cancel(self, endpoint, call_id) -> None:  # type: ignore[no-untyped-def]
            pass

        def run_ended(self, endpoint) -> None:  # type: ignore[no-untyped-def]
            pass

    app = create_application()
    server = ArtifactServer()
    profile = build_artifact_profile(server)
    host = Echo()
    attach_bridge(profile, host)
    page = ArtifactPage(profile)
    loop = QEventLoop()
    page.loadFinished.connect(lambda _ok: loop.quit())
    page.load(QUrl(server.put_page("bench", PAGE)))
    QTimer.singleShot(30_000, loop.quit)
    loop.exec()
    box: list[object] = []
    page.runJavaScript(f"window.bench({calls}); 1", 0, lambda _r: None)

    def poll() -> None:
        page.runJavaScript("JSON.stringify(window.benchOut || null)", 0, lambda r: box.append(r))

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        box.clear()
        poll()
        while not box:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
        found = json.loads(str(box[0]))
        if found:
            break
    shiboken6.delete(page)
    app.processEvents()
    shiboken6.delete(profile)
    return [float(x) for x in found]


def prompt_cost(reps: int) -> list[tuple[str, int, float]]:
    """(variant, system prompt tokens, median TTFT s) with and without the sentence about window.studio."""
    from real_model import find_real_model

    from studio.core.prompts import MODEL_API, default_prompt
    from studio.engine.base import GenerationParams
    from studio.engine.llamacpp import LlamaCppEngine

    model = find_real_model()
    if model is None:
        print("(prompt cost skipped: the real model is not fetched)")
        return []
    with_api = default_prompt()
    variants = [("without the sentence", with_api.replace(MODEL_API, "")), ("with it (shipped)", with_api)]
    ttfts: dict[str, list[float]] = {name: [] for name, _ in variants}
    tokens: dict[str, int] = {}
    for _ in range(reps):
        for name, system in variants:  # interleaved: a machine whose load drifts hits both alike
            engine = LlamaCppEngine()  # no saved prompt state: every run prefills the whole prompt
            engine.load(str(model.gguf))
            messages = [{"role": "system", "content": system}, {"role": "user", "content": "What is 2 + 2?"}]
            for chunk in engine.stream_chat(messages, GenerationParams(max_tokens=1, temperature=0.0)):  # type: ignore[arg-type]
                if chunk.ttft is not None:
                    ttfts[name].append(chunk.ttft)
                    tokens[name] = chunk.prompt_tokens
                    break
            engine.close()
    rows = [(name, tokens[name], statistics.median(ttfts[name])) for name, _ in variants]
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()
    ms = sorted(round_trip(args.calls))
    print(f"\nwindow.studio round trip, {len(ms)} sequential calls answered at once (no model)")
    print("| median ms | p95 ms | max ms |")
    print("| ---: | ---: | ---: |")
    print(f"| {statistics.median(ms):.2f} | {ms[int(len(ms) * 0.95) - 1]:.2f} | {ms[-1]:.2f} |")
    rows = prompt_cost(args.reps)
    if rows:
        print(
            f"\nSystem prompt cost on SmolLM2-135M (llama.cpp, prompt tokens incl. the question, median of {args.reps})"
        )
        print("| system prompt | prompt tokens | TTFT s |")
        print("| --- | ---: | ---: |")
        for name, tokens, ttft in rows:
            print(f"| {name} | {tokens} | {ttft:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
