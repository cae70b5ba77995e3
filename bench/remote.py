"""What the OpenAI engine costs: raw HTTP streaming vs OpenAIEngine.stream_chat, to one mlx_lm server.

Interleaved repetitions against the same server, same request (greedy, fixed max_tokens):

* raw http: ``http.client`` POST with ``stream: true``, ``data:`` lines split by hand, JSON decoded;
* raw httpx2: the same with a synchronous ``httpx2.Client`` and its ``EventSource`` (the library alone);
* engine: ``OpenAIEngine.stream_chat`` (httpx2's async client on the engine's loop thread, its
  EventSource, Chunk records handed to the caller's thread, the cancel watch).

Both are timed where the text arrives: time to first token (from just before the request) and decode
tok/s (deltas after the first / time from first to last delta; the server sends one delta per token).
The ratio engine/raw is the engine's overhead budget (target >= 0.97).

Run: ``.venv/bin/python bench/remote.py [--model PATH] [--reps 5] [--max-tokens 256]`` starts
``mlx_lm server`` on a free port (without --model it builds the tiny test model's ``bench`` preset);
``--base-url URL --model NAME`` measures a server that is already running instead.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2

from studio.engine.base import ChatMessage, GenerationParams
from studio.engine.openai import OpenAIEngine

REPO = Path(__file__).resolve().parents[1]
ASK: list[ChatMessage] = [{"role": "user", "content": "write a long story about trees"}]


def build_model(dest: Path, preset: str) -> Path:
    spec = importlib.util.spec_from_file_location("tiny_model", REPO / "tests" / "fixtures" / "tiny_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tiny_model"] = module
    spec.loader.exec_module(module)
    return Path(module.cached_tiny_model(dest, spec=module.PRESETS[preset]))


def start_server(model: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (folder / "hub").mkdir(exist_ok=True)
    env = {**os.environ, "HF_HUB_CACHE": str(folder / "hub"), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "mlx_lm", "server", "--model", model, "--port", str(port)]
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"mlx_lm server did not start; see {folder / 'server.log'}")


def request_body(model: str, max_tokens: int) -> dict[str, Any]:
    return {
        "model": model,
        "messages": ASK,
        "stream": True,
        "temperature": 0,
        "top_p": GenerationParams().top_p,
        "max_tokens": max_tokens,
        "stream_options": {"include_usage": True},
    }  # the very body the engine sends


def raw_run(base: str, model: str, max_tokens: int) -> tuple[float, float, int]:
    """(ttft s, decode tok/s, deltas) with nothing but http.client and json."""
    parts = urlsplit(base)
    body = request_body(model, max_tokens)
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    conn.request(
        "POST", parts.path + "/chat/completions", json.dumps(body), {"Content-Type": "application/json"}
    )
    resp = conn.getresponse()
    stamps: list[float] = []
    for line in resp:
        if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
            continue
        choices = json.loads(line[6:]).get("choices") or [{}]
        if (choices[0].get("delta") or {}).get("content"):
            stamps.append(time.perf_counter())
    conn.close()
    return _figures(t0, stamps)


def httpx2_run(client: httpx2.Client, base: str, model: str, max_tokens: int) -> tuple[float, float, int]:
    """(ttft s, decode tok/s, deltas) with a plain httpx2 client and its EventSource."""
    t0 = time.perf_counter()
    stamps: list[float] = []
    with client.stream("POST", base + "/chat/completions", json=request_body(model, max_tokens)) as resp:
        for event in httpx2.EventSource(resp):
            if event.data.strip() == "[DONE]":
                break
            choices = json.loads(event.data).get("choices") or [{}]
            if (choices[0].get("delta") or {}).get("content"):
                stamps.append(time.perf_counter())
    return _figures(t0, stamps)


def engine_run(engine: OpenAIEngine, max_tokens: int) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    stamps = [
        time.perf_counter()
        for chunk in engine.stream_chat(ASK, GenerationParams(temperature=0, max_tokens=max_tokens))
        if chunk.text
    ]
    return _figures(t0, stamps)


def _figures(t0: float, stamps: list[float]) -> tuple[float, float, int]:
    if len(stamps) < 2:
        return float("nan"), float("nan"), len(stamps)
    return stamps[0] - t0, (len(stamps) - 1) / (stamps[-1] - stamps[0]), len(stamps)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model folder (or, with --base-url, the served name)")
    ap.add_argument("--base-url", default=None, help="measure this running server instead of starting one")
    ap.add_argument("--preset", default="bench", help="tiny model preset when --model is not given")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--max-tokens", type=int, default=256)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        proc = None
        if args.base_url:
            base, model = args.base_url, args.model or ""
        else:
            model = args.model or str(build_model(folder, args.preset))
            proc, base = start_server(model, folder)
        try:
            engine = OpenAIEngine(base, stall_timeout=120)
            name = engine.load(model).extra["id"]
            raw_run(base, str(name), 8)  # warm up: load, first compile, prompt cache
            client = httpx2.Client(timeout=120)
            rows: dict[str, list[tuple[float, float, int]]] = {"raw http": [], "raw httpx2": [], "engine": []}
            for _ in range(args.reps):
                rows["raw http"].append(raw_run(base, str(name), args.max_tokens))
                rows["raw httpx2"].append(httpx2_run(client, base, str(name), args.max_tokens))
                rows["engine"].append(engine_run(engine, args.max_tokens))
            client.close()
            engine.close()
        finally:
            if proc is not None:
                proc.kill()
                proc.wait(10)
    print(f"# {platform.machine()} {platform.system()}, {base}, model {Path(model).name}, reps {args.reps}")
    print(f"{'path':<11} {'ttft ms':>9} {'tok/s':>9} {'tokens':>7} {'vs raw':>7}")
    raw_tps = statistics.median(r[1] for r in rows["raw http"])
    for label, runs in rows.items():
        ttft = statistics.median(r[0] for r in runs) * 1000
        tps = statistics.median(r[1] for r in runs)
        tokens = statistics.median(r[2] for r in runs)
        print(f"{label:<11} {ttft:>9.1f} {tps:>9.1f} {tokens:>7.0f} {tps / raw_tps:>7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
