"""``artifacts-studio eval``: how fit a model is for artifacts, measured on a set of prompts.

Each prompt is one user turn under the studio's system prompt. The answer's artifact is rendered
headless in the sandbox (``studio.web.checker.check_file``: loaded, no JS error, not blank, not hung);
a failing one gets up to ``--fixes`` fix turns (the window's auto-fix prompt and stopping rule). The
table gives, per prompt: render success on the first answer, fixes needed, time to first token,
tokens per second and answer length.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    add_engine_options,
    engine_name,
    engine_options,
    params_from_args,
)
from studio.core.fixprompt import (
    DEFAULT_AUTO_FIXES,
    FixLoop,
    Verdict,
    fix_prompt,
    self_check,
    verdict_from,
    wants_probe,
)
from studio.core.resources import resource_path

if TYPE_CHECKING:  # imported where used: building the parser stays cheap (startup)
    from studio.engine.base import ChatMessage, Chunk, Engine, GenerationParams

log = logging.getLogger(__name__)


def default_prompts_path() -> Path:
    """The shipped prompt set (resources/eval/prompts.json)."""
    return resource_path("eval", "prompts.json")


@dataclass(frozen=True)
class EvalPrompt:
    """One request of the set."""

    id: str
    prompt: str
    category: str = ""


def load_prompts(path: Path) -> list[EvalPrompt]:
    """Read a prompt set: ``{"prompts": [{"id", "prompt", "category"?}, ...]}`` or a plain list.

    Raises:
        ValueError: not a prompt set.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data.get("prompts") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path}: no prompts (expected {{'prompts': [...]}})")
    out = []
    for i, item in enumerate(items, 1):
        if isinstance(item, str):
            item = {"id": f"p{i}", "prompt": item}
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("prompt"), str)
            or not item["prompt"].strip()
        ):
            raise ValueError(f"{path}: prompt {i} has no text")
        out.append(EvalPrompt(str(item.get("id", f"p{i}")), item["prompt"], str(item.get("category", ""))))
    return out


@dataclass
class Attempt:
    """One answer (first or a fix) and its check."""

    ttft_s: float | None
    tokens_per_s: float
    tokens: int
    chars: int
    finish_reason: str | None
    artifact: str | None  # its kind, None when the answer held no artifact
    ok: bool = False
    errors: int = 0
    blank: bool = False
    hung: bool = False
    loaded: bool = False
    error: str | None = None
    why: str | None = None  # what failed and why, in one line (None when it rendered clean)
    alive: bool | None = None  # liveness (studio.core.checks): None when not measured
    responds: bool | None = None
    overflow: bool | None = None
    fps: float | None = None
    long_tasks: int | None = None
    still: bool = False
    dead: bool = False


@dataclass
class Row:
    """The result of one prompt."""

    id: str
    category: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def first(self) -> Attempt:
        return self.attempts[0]

    @property
    def fixes_needed(self) -> int | None:
        """0: passed at once; n: passed after n fixes; None: never passed."""
        for i, a in enumerate(self.attempts):
            if a.ok:
                return i
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "render_ok": self.first.ok,
            "fixes_needed": self.fixes_needed,
            "attempts": [asdict(a) for a in self.attempts],
        }


def check_answer(text: str, wait_ms: int = 1500) -> tuple[dict | None, Any]:
    """Extract an answer's artifact and check it headless.

    Returns:
        (the checker's report or None when there is no artifact, the artifact or None).
    """
    from studio.core.extract import extract
    from studio.core.standalone import standalone_html
    from studio.web.checker import check_file

    artifact = extract(text).artifact
    if artifact is None:
        return None, None

    with tempfile.TemporaryDirectory(prefix="studio-eval-") as tmp:
        page = Path(tmp) / "artifact.html"
        page.write_text(standalone_html(artifact), encoding="utf-8")
        return check_file(page, wait_ms=wait_ms), artifact


def _generate(engine: Engine, messages: list[ChatMessage], params: GenerationParams) -> tuple[str, Chunk]:
    from studio.engine.base import Chunk

    parts: list[str] = []
    last = Chunk(finish_reason="error", error="the engine produced no output")
    for chunk in engine.stream_chat(messages, params):
        parts.append(chunk.text)
        last = chunk
    return "".join(parts), last


def run_prompt(
    engine: Engine, item: EvalPrompt, params: GenerationParams, *, fixes: int, wait_ms: int, system: str
) -> Row:
    """Answer one prompt, check it, and fix it up to ``fixes`` times (stopping when a fix does not help)."""
    from studio.core.extract.types import fence_for
    from studio.core.standalone import standalone_html

    row = Row(item.id, item.category)
    messages: list[ChatMessage] = [
        {"role": "system", "content": system},
        {"role": "user", "content": item.prompt},
    ]
    loop = FixLoop(fixes)
    while True:
        text, last = _generate(engine, messages, params)
        report, artifact = (None, None) if last.finish_reason == "error" else check_answer(text, wait_ms)
        attempt = Attempt(
            ttft_s=None if last.ttft is None else round(last.ttft, 3),
            tokens_per_s=round(last.tps, 2),
            tokens=last.generated_tokens,
            chars=len(text),
            finish_reason=last.finish_reason,
            artifact=None if artifact is None else artifact.kind,
            error=last.error,
        )
        row.attempts.append(attempt)
        if report is None or artifact is None:
            attempt.why = _no_artifact_why(text, last)
            return row  # nothing to render: nothing to fix either
        attempt.loaded, attempt.errors = report["loaded"], report["errors"]
        attempt.blank, attempt.hung = report["blank"], report["hung"]
        for name in ("alive", "responds", "overflow", "fps", "long_tasks"):
            setattr(attempt, name, report.get(name))
        verdict, _line = self_check(report["console"], blank=report["blank"], hung=report["hung"])
        if wants_probe(verdict):  # errors first, as in the window; then motion and input
            verdict, _line = self_check(
                report["console"], report=report, source=artifact.source, request=item.prompt
            )
        attempt.still, attempt.dead = verdict.still, verdict.dead
        attempt.ok = attempt.loaded and verdict.ok
        if not report["loaded"] and verdict.ok:
            verdict = verdict_from([{"level": "error", "message": "the page did not load", "line": 0}])
        attempt.why = None if attempt.ok else _render_why(verdict, last)
        if loop.decide(verdict) != "auto":
            return row
        page = standalone_html(artifact)
        prompt = fix_prompt(verdict, artifact.source, page, fence=fence_for(artifact.kind))
        messages += [{"role": "assistant", "content": text}, {"role": "user", "content": prompt}]


def _no_artifact_why(text: str, last: Chunk) -> str:
    from studio.core.extract import extract

    if last.finish_reason == "error":
        return f"engine error: {last.error or 'no message'}"
    reason = extract(text).reason or "the answer holds no artifact"
    if last.finish_reason == "length":
        return f"{reason} (cut off at {last.generated_tokens} tokens)"
    return reason


def _render_why(verdict: Verdict, last: Chunk) -> str:
    """The first problem of a failed render, e.g. "2 errors: ReferenceError: x is not defined (line 12)"."""
    cut = f"; cut off at {last.generated_tokens} tokens" if last.finish_reason == "length" else ""
    if not verdict.errors:
        tried = f": {verdict.tried[0]}" if verdict.dead and verdict.tried else ""
        return f"{verdict.summary()}{tried}{cut}"
    first = verdict.errors[0]
    message = " ".join(str(first.get("message", "")).split())[:120]
    line = f" (line {first['line']})" if first.get("line") else ""
    return f"{verdict.summary()}: {message}{line}{cut}"


def _fmt(v: float | None, unit: str = "") -> str:
    return "-" if v is None else f"{v:.2f}{unit}"


def _yn(v: bool | None) -> str:
    return "-" if v is None else ("yes" if v else "no")


def table(rows: list[Row]) -> str:
    """The human-readable table and a summary line."""
    head = ("prompt", "render", "fixes", "moves", "responds", "overflow", "fps", "long", "ttft", "tok/s",
            "tokens", "chars", "why")  # fmt: skip
    lines = []
    for r in rows:
        a = r.first
        if a.artifact is None:
            render = "no artifact" if a.finish_reason != "error" else "engine error"
        else:
            render = "ok" if a.ok else "FAIL"
        fixes = r.fixes_needed
        fixes_s = "-" if a.artifact is None else ("never" if fixes is None else str(fixes))
        fps = "-" if a.fps is None else f"{a.fps:.0f}"
        lines.append(
            (r.id, render, fixes_s, _yn(a.alive), _yn(a.responds), _yn(a.overflow), fps,
             "-" if a.long_tasks is None else str(a.long_tasks),
             _fmt(a.ttft_s, "s"), _fmt(a.tokens_per_s), str(a.tokens), str(a.chars), a.why or "")
        )  # fmt: skip
    widths = [max(len(h), *(len(x[i]) for x in lines)) if lines else len(h) for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(x, widths, strict=True)).rstrip() for x in lines]
    out.append(summary_line(rows))
    return "\n".join(out)


def summary(rows: list[Row]) -> dict[str, Any]:
    """Totals over the set."""
    n = len(rows)
    with_art = [r for r in rows if r.first.artifact is not None]
    tps = [a.tokens_per_s for r in rows for a in r.attempts if a.tokens_per_s > 0]
    ttft = [a.ttft_s for r in rows for a in r.attempts if a.ttft_s is not None]
    return {
        "prompts": n,
        "artifacts": len(with_art),
        "render_ok_first": sum(r.first.ok for r in rows),
        "render_ok_after_fixes": sum(r.fixes_needed is not None for r in rows),
        "fixes_used": sum(len(r.attempts) - 1 for r in rows),
        "median_ttft_s": _median(ttft),
        "median_tokens_per_s": _median(tps),
    }


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return round(s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2, 3)


def summary_line(rows: list[Row]) -> str:
    s = summary(rows)
    return (
        f"{s['render_ok_first']}/{s['prompts']} rendered clean at once, {s['render_ok_after_fixes']}/{s['prompts']} "
        f"after fixes ({s['fixes_used']} fix turns); {s['artifacts']}/{s['prompts']} answers held an artifact; "
        f"median ttft {_fmt(s['median_ttft_s'], 's')}, median {_fmt(s['median_tokens_per_s'])} tok/s"
    )


def eval_main(args: argparse.Namespace) -> int:
    """``eval [PROMPTS] [--model M] [--engine E] [--fixes N] [--max-tokens N] [--json]``."""
    from studio.core.prompts import default_prompt
    from studio.engine.base import EngineError
    from studio.models.registry import create_engine
    from studio.store.settings import load_settings

    def err(msg: str) -> None:
        print(f"artifacts-studio eval: {msg}", file=sys.stderr)

    path = Path(args.prompts) if args.prompts else default_prompts_path()
    try:
        prompts = load_prompts(path)
    except (OSError, ValueError) as exc:
        err(f"cannot read the prompt set: {exc}")
        return EXIT_BAD_INPUT
    if args.limit:
        prompts = prompts[: args.limit]
    settings = load_settings()
    model = args.model or settings.model
    if not model:
        err("no model: pass --model or choose one in the settings")
        return EXIT_BAD_INPUT
    try:
        params = params_from_args(args, settings)
    except ValueError as exc:
        err(f"bad generation parameter: {exc}")
        return EXIT_BAD_INPUT
    try:
        engine = create_engine(engine_name(args, settings), model, **engine_options(args, settings))
        info = engine.load(model)
    except EngineError as exc:
        err(str(exc))
        return EXIT_BAD_INPUT
    rows: list[Row] = []
    t0 = time.monotonic()
    system = default_prompt()
    try:
        for i, item in enumerate(prompts, 1):
            if not args.json:
                print(f"[{i}/{len(prompts)}] {item.id} …", file=sys.stderr, flush=True)
            rows.append(
                run_prompt(engine, item, params, fixes=args.fixes, wait_ms=args.wait_ms, system=system)
            )
    except KeyboardInterrupt:
        engine.cancel()
        err("interrupted; results so far:")
    finally:
        engine.close()
    if args.json:
        out = {
            "model": info.name,
            "engine": engine.name,
            "prompts": str(path),
            "max_tokens": params.max_tokens,
            "seconds": round(time.monotonic() - t0, 1),
            "summary": summary(rows),
            "rows": [r.to_json() for r in rows],
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(f"model {info.name} ({engine.name}), {len(rows)} prompts, max {params.max_tokens} tokens")
        print(table(rows))
    return EXIT_OK


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``eval`` to the command line's sub-parsers (it takes every engine option)."""
    ev = sub.add_parser("eval", help="check a model's artifacts on a prompt set and print a table")
    ev.add_argument("prompts", nargs="?", default=None, help="prompt set JSON (default: the shipped 20)")
    ev.add_argument("--model", default=None, help="model folder or repo id (default: the settings' model)")
    ev.add_argument(
        "--fixes",
        type=int,
        default=DEFAULT_AUTO_FIXES,
        help="fix turns per failing artifact, 0-3 (default 1)",
    )
    ev.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N prompts")
    ev.add_argument("--wait-ms", type=int, default=1500, help="how long each artifact runs before the check")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    add_engine_options(ev)
    return ev
