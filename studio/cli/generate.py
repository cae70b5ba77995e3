"""``artifacts-studio generate``: stream an answer from a model on the command line (no Qt)."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from studio.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_CANCELLED,
    EXIT_FAIL,
    EXIT_OK,
    add_engine_options,
    engine_name,
    engine_options,
    err,
    params_from_args,
)

if TYPE_CHECKING:  # imported where used: building the parser stays cheap (startup)
    from studio.cli.library import GenerateSaver
    from studio.core.attachments import Attachment
    from studio.engine.base import ChatMessage, Chunk, Engine, GenerationParams

log = logging.getLogger(__name__)


def _default_output(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "artifact"
    candidate = Path(f"{slug}.html")
    n = 2
    while candidate.exists():
        candidate = Path(f"{slug}-{n}.html")
        n += 1
    return str(candidate)


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


def fit_warning_for(model: str, engine: str) -> str | None:
    """The catalog's fit warning when ``model`` is a catalog repo (an id or its cache folder) for ``engine``."""
    from studio.models import catalog
    from studio.models.sysinfo import memory

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
    from studio.core.attachments import AttachmentError, load_attachment
    from studio.engine.base import EngineError, ModelLoadError
    from studio.models.registry import create_engine
    from studio.store.settings import load_settings

    settings = load_settings()
    args.model = args.model or settings.model
    if not args.model:
        err("no model: pass --model or choose one in the settings")
        return EXIT_BAD_INPUT
    args.engine = engine_name(args, settings)
    if args.system is None:
        args.system = settings.system_prompt
    try:
        params = params_from_args(args, settings)
    except ValueError as exc:
        err(f"bad generation parameter: {exc}")
        return EXIT_BAD_INPUT
    attachments: list[Attachment] = []
    for path in args.attach:
        try:
            attachments.append(load_attachment(path))
        except AttachmentError as exc:
            err(f"cannot attach {exc}")
            return EXIT_BAD_INPUT
    try:
        prompts = [sys.stdin.read() if p == "-" else p for p in args.prompt]
    except (OSError, UnicodeDecodeError) as exc:
        err(f"cannot read the prompt from stdin ({exc})")
        return EXIT_BAD_INPUT
    if any(not p.strip() for p in prompts):
        err("the prompt is empty")
        return EXIT_BAD_INPUT

    try:
        engine = create_engine(args.engine, args.model, **engine_options(args, settings))
    except EngineError as exc:
        err(str(exc))
        return EXIT_BAD_INPUT
    warning = fit_warning_for(args.model, engine.name)
    if warning:
        err(f"warning: {warning}")
    saver = None
    try:
        if getattr(args, "save", False):
            from studio.cli.library import GenerateSaver
            from studio.store.db import StoreError

            try:
                saver = GenerateSaver(getattr(args, "data_dir", None))
            except StoreError as exc:
                err(str(exc))
                return EXIT_BAD_INPUT
        try:
            engine.load(args.model)
        except ModelLoadError as exc:
            err(f"cannot load the model: {exc}")
            return EXIT_BAD_INPUT
        except EngineError as exc:
            err(str(exc))
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
    from studio.cli.extract import emit_artifact
    from studio.core.attachments import compose_user_message
    from studio.core.extract import StreamingExtractor, extract
    from studio.core.prompts import default_prompt
    from studio.engine.base import Chunk

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
            err("interrupted")
            return EXIT_CANCELLED
        answer = extractor.text
        messages.append({"role": "assistant", "content": answer})
        fig = _figures(turn, last)
        if saver is not None:
            saver.end_turn(answer, last.finish_reason or "stop", last.error, fig)
        figures.append(fig)
        if not args.json:
            _print_figures(fig)
        if last.finish_reason == "error":
            err(f"generation failed: {last.error}")
            if args.json:
                print(json.dumps({"text": answer, "turns": figures}, ensure_ascii=False))
            return EXIT_FAIL
    result = extract(answer)
    output = args.output
    if result.artifact is not None and output is None:
        output = _default_output(result.artifact.title)
    if args.json:
        code = emit_artifact(result, output, as_json=False, html_to_stdout=False)
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
    code = emit_artifact(result, output, as_json=False, html_to_stdout=False)
    if code == EXIT_OK:
        print(f"artifact written to {output}", file=sys.stderr)
    return code


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``generate`` to the command line's sub-parsers."""
    gen = sub.add_parser("generate", help="stream an answer from a model on the command line")
    gen.add_argument(
        "--model", default=None, help="model folder or Hugging Face repo id (default: the settings' model)"
    )
    gen.add_argument(
        "--prompt",
        action="append",
        required=True,
        help="the request ('-' reads stdin); repeat for a multi-turn conversation",
    )
    gen.add_argument(
        "--attach", action="append", default=[], metavar="FILE", help="attach a file to the first turn"
    )
    gen.add_argument("--system", default=None, help="replace the system prompt")
    gen.add_argument(
        "-o", "--output", default=None, help="where to write the artifact (default: <title>.html here)"
    )
    gen.add_argument("--json", action="store_true", help="print one JSON object instead of streaming text")
    gen.add_argument(
        "--save", action="store_true", help="keep the conversation in the library (as it streams)"
    )
    add_engine_options(gen)
    return gen


__all__ = ["add_parser", "fit_warning_for", "generate_main"]
