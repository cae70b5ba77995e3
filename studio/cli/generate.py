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
    from studio.core.patchturn import TurnOutcome, TurnReport
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


class _Stopped(Exception):
    """A turn ended the run (engine error or Ctrl+C); ``code`` is the exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _mode_line(report: TurnReport) -> str:
    """How a turn went, for the terminal: "patch: 2 edits, +3 −1 lines", "fallback: ...", "full file"."""
    if report.mode == "patch":
        n = report.applied
        return f"patch: {n} edit{'s' if n != 1 else ''}, +{report.added} \u2212{report.removed} lines"
    if report.mode == "fallback":
        got = "the complete file came back" if report.fallback_ok else "no complete file came back"
        return f"fallback: {len(report.failed)} of {report.applied + len(report.failed)} edits failed; {got}"
    return "full file" if report.mode == "full" else "no artifact"


def _run_turns(
    engine: Engine,
    prompts: list[str],
    attachments: list[Attachment],
    params: GenerationParams,
    args: argparse.Namespace,
    saver: GenerateSaver | None = None,
) -> int:
    """The turns of ``generate``: a turn after the first patches the current artifact when the model
    answers with SEARCH/REPLACE blocks; when a block fails the model is asked once for the whole file."""
    from studio.cli.extract import emit_artifact
    from studio.core.attachments import compose_user_message
    from studio.core.extract import Extraction, StreamingExtractor, extract
    from studio.core.patch import failure_report
    from studio.core.patchturn import TurnFlow
    from studio.core.prompts import default_prompt
    from studio.engine.base import Chunk

    flow = TurnFlow(args.system or default_prompt())
    figures: list[dict[str, object]] = []
    calls: list[tuple[str, Chunk, dict[str, object]]] = []  # per engine call: answer, last chunk, figures
    turn_no = 0

    def ask(messages: list[ChatMessage], prompt: str) -> str:
        if saver is not None:
            saver.begin_turn(prompt, attachments if not calls else ())  # the files went with turn 1
        extractor = StreamingExtractor()
        last = Chunk(finish_reason="error", error="the engine produced no output")
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
                saver.end_turn(extractor.text, "cancelled", "interrupted by the user", made=(None, "model"))
            err("interrupted")
            raise _Stopped(EXIT_CANCELLED) from None
        fig = _figures(turn_no, last)
        calls.append((extractor.text, last, fig))
        if not args.json:
            _print_figures(fig)
        if last.finish_reason == "error":
            if saver is not None:
                saver.end_turn(extractor.text, "error", last.error, fig, made=(None, "model"))
            err(f"generation failed: {last.error}")
            raise _Stopped(EXIT_FAIL)
        return extractor.text

    def on_outcome(outcome: TurnOutcome) -> None:
        answer, last, fig = calls[-1]
        if saver is not None:
            art = outcome.artifact if outcome.mode in ("full", "patch") else None
            origin = "patch" if outcome.mode == "patch" else "model"
            saver.end_turn(answer, last.finish_reason or "stop", last.error, fig, made=(art, origin))

    def on_fallback(outcome: TurnOutcome) -> None:
        assert outcome.result is not None
        err(
            f"turn {turn_no}: {outcome.summary()}; asking the model once for the complete file (fallback)\n"
            + failure_report(outcome.result)
        )

    for turn_no, prompt in enumerate(prompts, 1):  # the closures above read turn_no
        content = compose_user_message(prompt, attachments if turn_no == 1 else ())
        first = len(calls)
        try:
            report = flow.run(
                turn_no, prompt, ask, content=content, on_outcome=on_outcome, on_fallback=on_fallback
            )
        except _Stopped as stop:
            if stop.code == EXIT_FAIL and args.json:
                fig = dict(calls[-1][2]) if len(calls) > first else {}
                figures.append({**fig, "turn": turn_no})
                print(
                    json.dumps({"text": calls[-1][0] if calls else "", "turns": figures}, ensure_ascii=False)
                )
            return stop.code
        fig = {**calls[first][2], **report.to_json()}
        if report.mode == "fallback" and len(calls) > first + 1:
            fig["fallback_call"] = calls[first + 1][2]
        figures.append(fig)
        if not args.json:
            print(f"[turn {turn_no}] {_mode_line(report)}", file=sys.stderr)
    answer = calls[-1][0] if calls else ""
    result = Extraction(flow.artifact, "", ()) if flow.artifact is not None else extract(answer)
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
