"""The OpenAI-compatible engine against a real ``mlx_lm server`` running the tiny model.

The server starts once for the module (a subprocess on a free port) and is killed at teardown.
Greedy answers are compared with what the in-process MLX engine gives for the same messages: both
apply the model's own chat template and decode with mlx-lm, so the text must be the same.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from studio.engine.base import CancelToken, ChatMessage, Chunk, GenerationParams, ModelLoadError, collect
from studio.engine.mlx import MLXEngine
from studio.engine.openai import OpenAIEngine

GREEDY = GenerationParams(temperature=0, max_tokens=24)
MSGS: list[ChatMessage] = [
    {"role": "system", "content": "You write small web pages."},
    {"role": "user", "content": "Make a button that counts clicks."},
]


@dataclass
class Server:
    url: str  # the API root, http://127.0.0.1:PORT/v1
    model: str  # the --model argument
    log: Path
    proc: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def mlx_server(tiny_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("mlx-server")
    hub = folder / "hub"
    hub.mkdir()  # mlx_lm lists /v1/models from the HF cache and fails when the folder is missing
    log = folder / "server.log"
    port = _free_port()
    env = {**os.environ, "HF_HUB_CACHE": str(hub), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "mlx_lm", "server", "--model", str(tiny_model_path)]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = Server(f"http://127.0.0.1:{port}/v1", str(tiny_model_path), log, proc)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mlx_lm server exited ({proc.returncode}):\n{server.log_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as resp:
                    if json.load(resp).get("status") == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlx_lm server did not start in 90 s:\n{server.log_text()[-2000:]}")
            time.sleep(0.2)
        yield server
    finally:
        proc.kill()
        proc.wait(10)


@pytest.fixture
def remote(mlx_server: Server) -> Iterator[OpenAIEngine]:
    eng = OpenAIEngine(mlx_server.url, connect_timeout=2, stall_timeout=30)
    eng.load(mlx_server.model)
    yield eng
    eng.close()


def test_load_checks_what_mlx_lm_serves(mlx_server: Server) -> None:
    eng = OpenAIEngine(mlx_server.url.removesuffix("/v1") + "/")
    info = eng.load(mlx_server.model)
    assert (info.engine, info.path, info.name) == ("openai", mlx_server.url, mlx_server.model)
    assert info.extra["id"] == str(Path(mlx_server.model).resolve())  # mlx_lm lists the resolved path
    assert eng.load(Path(mlx_server.model).name).extra["id"] == info.extra["id"]
    assert eng.load("").extra["id"] == info.extra["id"]  # the only model it serves
    with pytest.raises(ModelLoadError, match="does not serve model 'mlx-community/nothing-here'"):
        eng.load("mlx-community/nothing-here")


def test_greedy_answer_matches_the_mlx_engine(remote: OpenAIEngine, engine: MLXEngine) -> None:
    chunks = list(remote.stream_chat(MSGS, GREEDY))
    local = collect(engine.stream_chat(MSGS, GREEDY))
    text = "".join(c.text for c in chunks)
    last = chunks[-1]
    assert text == local.text and text
    assert last.finish_reason == local.finish_reason == "length"
    assert last.generated_tokens == local.last.generated_tokens == 24  # from the server's usage
    assert last.prompt_tokens == local.last.prompt_tokens == len(engine.encode_chat(MSGS))
    assert last.ttft is not None and 0 < last.ttft < 10
    assert last.tps > 0 and last.error is None
    assert all(c.ttft == last.ttft for c in chunks[:-1])


def test_two_turns_match_the_mlx_engine_and_reuse_the_servers_cache(
    remote: OpenAIEngine, engine: MLXEngine
) -> None:
    messages = list(MSGS)
    for turn in ("Make it blue.", "Now add a reset button."):
        answer = collect(remote.stream_chat(messages, GREEDY))
        local = collect(engine.stream_chat(messages, GREEDY))
        assert answer.text == local.text
        assert answer.last.prompt_tokens == local.last.prompt_tokens
        messages += [{"role": "assistant", "content": answer.text}, {"role": "user", "content": turn}]
    # mlx_lm.server reports cached prompt tokens: the follow-up turn did not prefill everything
    assert 0 < answer.last.prefilled_tokens < answer.last.prompt_tokens


def test_cancel_mid_stream_disconnects_and_the_server_serves_on(
    mlx_server: Server, remote: OpenAIEngine
) -> None:
    token = CancelToken()
    chunks: list[Chunk] = []
    t_cancel = 0.0
    long = GenerationParams(temperature=0, max_tokens=20000)  # about 40 s of tokens on this machine
    prompt: list[ChatMessage] = [{"role": "user", "content": "write a long story about trees"}]
    for chunk in remote.stream_chat(prompt, long, cancel=token):
        chunks.append(chunk)
        if len(chunks) == 5:
            t_cancel = time.perf_counter()
            threading.Thread(target=token.cancel).start()
    waited = time.perf_counter() - t_cancel
    assert chunks[-1].finish_reason == "cancelled", chunks[-1]
    # The answer would run about 40 s; the cancel ended it at once (the bound leaves room for a loaded
    # machine: the outcome, not the timing, is what is tested; the token count says the same).
    assert waited < 5
    assert chunks[-1].generated_tokens < 2000
    # The server notices the client is gone when its next write fails.
    deadline = time.monotonic() + 5
    while "BrokenPipeError" not in (log := mlx_server.log_text()) and "ConnectionResetError" not in log:
        assert time.monotonic() < deadline, "mlx_lm server never saw the disconnect"
        time.sleep(0.05)
    t0 = time.perf_counter()
    after = collect(remote.stream_chat(MSGS, GenerationParams(temperature=0, max_tokens=8)))
    assert after.last.finish_reason == "length" and after.last.generated_tokens == 8
    assert time.perf_counter() - t0 < 5  # not stuck behind the cancelled answer


def test_repetition_penalty_and_seed_are_accepted(remote: OpenAIEngine) -> None:
    answer = collect(
        remote.stream_chat(
            MSGS, GenerationParams(temperature=0.8, max_tokens=8, seed=1, repetition_penalty=1.3)
        )
    )
    again = collect(
        remote.stream_chat(
            MSGS, GenerationParams(temperature=0.8, max_tokens=8, seed=1, repetition_penalty=1.3)
        )
    )
    assert answer.last.finish_reason == "length" and answer.text
    assert answer.text == again.text  # the seed makes sampling reproducible


def test_cli_generate_through_the_server(
    mlx_server: Server, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from studio.cli import main

    monkeypatch.chdir(tmp_path)
    argv = ["generate", "--engine", "openai", "--base-url", mlx_server.url, "--model", mlx_server.model]
    argv += ["--prompt", "Make a button", "--max-tokens", "16", "--temperature", "0", "--json"]
    code = main(argv)
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert code in (0, 3), out.err  # 3: the tiny model's answer holds no artifact
    (turn,) = result["turns"]
    assert (turn["finish_reason"], turn["generated_tokens"], turn["error"]) == ("length", 16, None)
    assert turn["prompt_tokens"] > 0 and turn["ttft_s"] is not None and result["text"]
    assert "generate" not in out.err  # no usage error


def test_a_greedy_answer_through_a_proxy_from_the_environment(
    mlx_server: Server, remote: OpenAIEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forward_proxy import forward_proxy

    direct = collect(remote.stream_chat(MSGS, GREEDY))
    with forward_proxy() as proxy:
        for name in ("NO_PROXY", "no_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        eng = OpenAIEngine(mlx_server.url, connect_timeout=2, stall_timeout=30)
        eng.load(mlx_server.model)
        proxied = collect(eng.stream_chat(MSGS, GREEDY))
        eng.close()
    assert proxy.seen == [f"GET {mlx_server.url}/models", f"POST {mlx_server.url}/chat/completions"]
    assert (proxied.text, proxied.last.finish_reason) == (direct.text, direct.last.finish_reason)
    assert proxied.last.generated_tokens == direct.last.generated_tokens
