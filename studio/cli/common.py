"""What the commands share: exit codes, the engine options, and the sampling parameters they give.

Exit codes: 0 success (an artifact was written), 1 failure (engine error; for ``check``: JS errors,
hung or blank), 2 bad input (missing model, unreadable file), 3 the answer holds no artifact,
130 cancelled (Ctrl+C).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: building the parser stays cheap (startup)
    from studio.engine.base import GenerationParams
    from studio.store.settings import Settings

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT, EXIT_NO_ARTIFACT = 0, 1, 2, 3
EXIT_CANCELLED = 130


class _Default(str):
    """A default that a flag given on the command line can be told apart from (settings apply)."""

    __slots__ = ()


def is_default(value: object) -> bool:
    """True when an option kept its parser default (so a stored setting may replace it)."""
    return isinstance(value, _Default)


def err(msg: str, prefix: str = "artifacts-studio") -> None:
    """One line on stderr, prefixed with the program (and command) name."""
    print(f"{prefix}: {msg}", file=sys.stderr)


def add_data_dir(p: argparse.ArgumentParser, *, top: bool) -> None:
    """``--data-dir``: on the top parser with a default, on each command without one."""
    p.add_argument(
        "--data-dir",
        default=None if top else argparse.SUPPRESS,
        metavar="DIR",
        help="use the library in DIR (default: $STUDIO_DATA_DIR or the per-user data folder)",
    )


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """The engine and sampling options every model-running command takes."""
    p.add_argument(
        "--engine",
        default=_Default("auto"),
        help="model backend: mlx, llamacpp, cuda, openai or auto (default: the settings', else auto: MLX on "
        "Apple Silicon, llama.cpp where installed elsewhere, else mlx)",
    )
    p.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="the OpenAI-compatible server for --engine openai, e.g. http://127.0.0.1:8080/v1 (API key: "
        "the system keyring, else $STUDIO_API_KEY)",
    )
    p.add_argument(
        "--device", default=None, metavar="D", help="where the cuda engine runs: auto, cpu, cuda or cuda:N"
    )
    p.add_argument(
        "--prompt-lookup",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="speculative decoding with n-gram drafts from the prompt: edits copy the file, so they come out "
        "several tokens per step (default: the settings', else on with Metal MLX, off elsewhere)",
    )
    p.add_argument(
        "--draft-model",
        default=None,
        metavar="PATH",
        help="a small model folder or repo id sharing the tokenizer, drafting for the loaded model (MLX, CUDA)",
    )
    p.add_argument("--max-tokens", type=int, default=None, help="most tokens per answer (default 4096)")
    p.add_argument("--temperature", type=float, default=None, help="0 = greedy (default 0.2)")
    p.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass (default 0.95)")
    p.add_argument("--seed", type=int, default=None, help="make sampling reproducible")
    p.add_argument("--repetition-penalty", type=float, default=None, help="e.g. 1.1; off by default")


def params_from_args(args: argparse.Namespace, settings: Settings | None = None) -> GenerationParams:
    """Sampling parameters: the sampling flags given, else the (effective) settings'.

    Raises:
        ValueError: a parameter is out of range.
    """
    from studio.engine.base import GenerationParams
    from studio.store.settings import Settings

    base = settings or Settings()
    values: dict[str, Any] = {"max_tokens": base.max_tokens, "temperature": base.temperature}
    for name in ("max_tokens", "temperature", "top_p", "seed", "repetition_penalty"):
        if getattr(args, name, None) is not None:
            values[name] = getattr(args, name)
    return GenerationParams(**values)


def engine_name(args: argparse.Namespace, settings: Settings) -> str:
    """``--engine`` when given, else the stored settings' engine."""
    engine = getattr(args, "engine", None)
    return settings.engine if engine is None or is_default(engine) else str(engine)


def engine_options(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """The engine settings: the ``--base-url`` / ``--device`` / ``--prompt-lookup`` / ``--draft-model``
    flags, else the stored settings'."""
    base_url = getattr(args, "base_url", None) or settings.base_url
    device = getattr(args, "device", None) or settings.device
    lookup = getattr(args, "prompt_lookup", None)
    return {
        "base_url": base_url,
        "device": device,
        "prompt_lookup": settings.prompt_lookup if lookup is None else lookup,
        "draft_model": getattr(args, "draft_model", None) or settings.draft_model,
    }


__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_CANCELLED",
    "EXIT_FAIL",
    "EXIT_NO_ARTIFACT",
    "EXIT_OK",
    "add_data_dir",
    "add_engine_options",
    "engine_name",
    "engine_options",
    "err",
    "is_default",
    "params_from_args",
]
