"""The headless commands behind ``artifacts-studio extract`` and ``generate`` (no Qt)."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from studio.cli import EXIT_BAD_INPUT, EXIT_FAIL, EXIT_NO_ARTIFACT, EXIT_OK, is_default
from studio.core.attachments import Attachment, AttachmentError, compose_user_message, load_attachment
from studio.core.extract import Extraction, StreamingExtractor, extract
from studio.core.prompts import default_prompt
from studio.core.standalone import standalone_html
from studio.engine.base import ChatMessage, Chunk, Engine, EngineError, GenerationParams, ModelLoadError
from studio.store.settings import Settings, load_settings

if TYPE_CHECKING:
    from studio.store.commands import GenerateSaver

log = logging.getLogger("studio.cli")


def _err(msg: str) -> None:
    print(f"artifacts-studio: {msg}", file=sys.stderr)


def _read_text(source: str, stdin: TextIO) -> str:
    if source == "-":
        return stdin.read()
    data = Path(source).read_bytes()
    return data.decode("utf-8")


def extract_main(args: argparse.Namespace) -> int:
    """``extract ANSWER.md [-o OUT.html] [--json]``."""
    try:
        text = _read_text(args.answer, sys.stdin)
    except FileNotFoundError:
        _err(f"{args.answer}: no such file")
        return EXIT_BAD_INPUT
    except IsADirectoryError:
        _err(f"{args.answer}: is a folder, not an answer file")
        return EXIT_BAD_INPUT
    except UnicodeDecodeError:
        _err(f"{args.answer}: not UTF-8 text")
        return EXIT_BAD_INPUT
    except OSError as exc:
        _err(f"{args.answer}: cannot be read ({exc.strerror or exc})")
        return EXIT_BAD_INPUT
    result = extract(text)
    return _emit_artifact(result, args.output, as_json=args.json, html_to_stdout=not args.json)


def _emit_artifact(result: Extraction, output: str | None, *, as_json: bool, html_to_stdout: bool) -> int:
    art = result.artifact
    if art is None:
        _err(f"no artifact: {result.reason}")
        if as_json:
            print(json.dumps({"kind": None, "reason": result.reason}))
        return EXIT_NO_ARTIFACT
    html = standalone_html(art)
    if art.truncated:
        _err("warning: the answer was cut off inside the artifact; writing the partial artifact")
    if output:
        try:
            Path(output).write_text(html, encoding="utf-8")
        except OSError as exc:
            _err(f"{output}: cannot write ({exc.strerror or exc})")
            return EXIT_BAD_INPUT
    elif html_to_stdout:
        sys.stdout.write(html)
        sys.stdout.flush()
    if as_json:
        info = art.to_json()
        if output:
            info["output"] = output
        print(json.dumps(info, ensure_ascii=False))
    return EXIT_OK


def _default_output(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "artifact"
    candidate = Path(f"{slug}.html")
    n = 2
    while candidate.exists():
        candidate = Path(f"{slug}-{n}.html")
        n += 1
    return str(candidate)


def _params(args: argparse.Namespace, settings: Settings | None = None) -> GenerationParams:
    base = settings or Settings()
    values = {
        "max_tokens": base.max_tokens if args.max_tokens is None else args.max_tokens,
        "temperature": base.temperature if args.temperature is None else args.temperature,
        "top_p": args.top_p,
        "seed": args.seed,
        "repetition_penalty": args.repetition_penalty,
    }
    return GenerationParams(**{k: v for k, v in values.items() if v is not None})


def _figures(turn: int, last: Chunk) -> dict[str, object]:
    return {
        "turn": turn,
        "prompt_tokens": last.prompt_tokens,
        "prefilled_tokens": last.prefilled_tokens,
        "generated_tokens": last.generated_tokens,
        "ttft_s": None if last.ttft is None else round(last.ttft, 4),
        "tokens_per_s": round(last.tps, 2),
        "prompt_tokens_per_s": round(last.prompt_tps, 2),
        "peak_memory_gb": last.peak_memory_gb,
        "finish_reason": last.finish_reason,
        "error": last.error,
    }


def _print_figures(fig: dict[str, object]) -> None:
    ttft = fig["ttft_s"]
    ttft_txt = "-" if ttft is None else f"{float(ttft) * 1000:.0f} ms"  # type: ignore[arg-type]
    print(
        f"\n[turn {fig['turn']}] prompt {fig['prompt_tokens']} tokens ({fig['prefilled_tokens']} prefilled), "
        f"generated {fig['generated_tokens']}, first token {ttft_txt}, {fig['tokens_per_s']} tok/s, "
        f"finish: {fig['finish_reason']}" + (f" ({fig['error']})" if fig["error"] else ""),
        file=sys.stderr,
    )


def engine_options(args: argparse.Namespace, settings: Settings) -> dict[str, object]:
    """The engine settings: ``--base-url`` / ``--device`` flags, else the stored settings'."""
    base_url = getattr(args, "base_url", None) or settings.base_url
    device = getattr(args, "device", None) or settings.device
    return {"base_url": base_url, "device": device}


def fit_warning_for(model: str, engine: str) -> str | None:
    """The catalog's fit warning when ``model`` is a catalog repo (an id or its cache folder) for ``engine``."""
    from studio.engine import catalog
    from studio.engine.sysinfo import memory

    text = model.replace("\\", "/")
    entry = next(
        (
            e
            for e in catalog.entries_for(engine)
            if text == e.repo or f"models--{e.repo.replace('/', '--')}/" in text + "/"
        ),
        None,
    )
    if entry is None or entry.pattern:  # GGUF repos hold several quantizations: not telling which
        return None
    try:
        return catalog.fit_warning(entry, memory())
    except (OSError, ValueError):
        return None


def generate_main(args: argparse.Namespace) -> int:
    """``generate --model M --prompt P [--prompt P2 ...] [--attach F] [-o OUT] [--json] [--save]``.

    Stored settings fill in what the flags leave out (model, engine, temperature, max tokens, system prompt).
    """
    from studio.engine.registry import create_engine

    settings = load_settings()
    args.model = args.model or settings.model
    if not args.model:
        _err("no model: pass --model or choose one in the settings")
        return EXIT_BAD_INPUT
    if is_default(args.engine):
        args.engine = settings.engine
    if args.system is None:
        args.system = settings.system_prompt
    try:
        params = _params(args, settings)
    except ValueError as exc:
        _err(f"bad generation parameter: {exc}")
        return EXIT_BAD_INPUT
    attachments: list[Attachment] = []
    for path in args.attach:
        try:
            attachments.append(load_attachment(path))
        except AttachmentError as exc:
            _err(f"cannot attach {exc}")
            return EXIT_BAD_INPUT
    try:
        prompts = [sys.stdin.read() if p == "-" else p for p in args.prompt]
    except (OSError, UnicodeDecodeError) as exc:
        _err(f"cannot read the prompt from stdin ({exc})")
        return EXIT_BAD_INPUT
    if any(not p.strip() for p in prompts):
        _err("the prompt is empty")
        return EXIT_BAD_INPUT

    try:
        engine = create_engine(args.engine, args.model, **engine_options(args, settings))
    except EngineError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    warning = fit_warning_for(args.model, engine.name)
    if warning:
        _err(f"warning: {warning}")
    saver = None
    try:
        if getattr(args, "save", False):
            from studio.store.commands import GenerateSaver
            from studio.store.db import StoreError

            try:
                saver = GenerateSaver(getattr(args, "data_dir", None))
            except StoreError as exc:
                _err(str(exc))
                return EXIT_BAD_INPUT
        try:
            engine.load(args.model)
        except ModelLoadError as exc:
            _err(f"cannot load the model: {exc}")
            return EXIT_BAD_INPUT
        except EngineError as exc:
            _err(str(exc))
            return EXIT_FAIL
        return _run_turns(engine, prompts, attachments, params, args, saver)
    finally:
        if saver is not None:
            saver.close()
        engine.close()


def _run_turns(
    engine: Engine,
    prompts: list[str],
    attachments: list[Attachment],
    params: GenerationParams,
    args: argparse.Namespace,
    saver: GenerateSaver | None = None,
) -> int:
    messages: list[ChatMessage] = [{"role": "system", "content": args.system or default_prompt()}]
    figures: list[dict[str, object]] = []
    answer, last = "", Chunk()
    for turn, prompt in enumerate(prompts, 1):
        content = compose_user_message(prompt, attachments if turn == 1 else ())
        messages.append({"role": "user", "content": content})
        extractor = StreamingExtractor()
        last = Chunk(finish_reason="error", error="the engine produced no output")
        if saver is not None:
            saver.begin_turn(prompt, attachments if turn == 1 else ())
        try:
            for chunk in engine.stream_chat(messages, params):
                if chunk.text:
                    extractor.feed(chunk.text)
                    if saver is not None:
                        saver.append(chunk.text)
                    if not args.json:
                        sys.stdout.write(chunk.text)
                        sys.stdout.flush()
                last = chunk
        except KeyboardInterrupt:
            engine.cancel()
            if saver is not None:
                saver.end_turn(extractor.text, "cancelled", "interrupted by the user")
            _err("interrupted")
            return 130
        answer = extractor.text
        messages.append({"role": "assistant", "content": answer})
        fig = _figures(turn, last)
        if saver is not None:
            saver.end_turn(answer, last.finish_reason or "stop", last.error, fig)
        figures.append(fig)
        if not args.json:
            _print_figures(fig)
        if last.finish_reason == "error":
            _err(f"generation failed: {last.error}")
            if args.json:
                print(json.dumps({"text": answer, "turns": figures}, ensure_ascii=False))
            return EXIT_FAIL
    result = extract(answer)
    output = args.output
    if result.artifact is not None and output is None:
        output = _default_output(result.artifact.title)
    if args.json:
        code = _emit_artifact(result, output, as_json=False, html_to_stdout=False)
        info: dict[str, object] = {"text": answer, "turns": figures}
        if saver is not None:
            info["conversation_id"] = saver.conversation_id
        info["artifact"] = (
            None if result.artifact is None else {**result.artifact.to_json(), "output": output}
        )
        if result.artifact is None:
            info["reason"] = result.reason
        print(json.dumps(info, ensure_ascii=False))
        return code
    code = _emit_artifact(result, output, as_json=False, html_to_stdout=False)
    if code == EXIT_OK:
        print(f"artifact written to {output}", file=sys.stderr)
    return code


__all__ = ["EXIT_FAIL", "extract_main", "generate_main"]
