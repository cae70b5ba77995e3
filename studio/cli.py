"""The front door: ``artifacts-studio [--data-dir DIR] [gui] | generate | extract | check | history | export | eval``.

Exit codes shared by the headless commands: 0 success (an artifact was written), 1 failure (engine
error; for ``check``: JS errors, hung or blank), 2 bad input (missing model, unreadable file), 3 the
answer holds no artifact.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from studio import __version__

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT, EXIT_NO_ARTIFACT = 0, 1, 2, 3
COMMANDS = ("gui", "generate", "extract", "check", "history", "export", "eval", "models")


class _Default(str):
    """A default that a flag given on the command line can be told apart from (settings apply)."""

    __slots__ = ()


def is_default(value: object) -> bool:
    """True when an option kept its parser default (so a stored setting may replace it)."""
    return isinstance(value, _Default)


def _data_dir_arg(p: argparse.ArgumentParser, *, top: bool) -> None:
    p.add_argument(
        "--data-dir",
        default=None if top else argparse.SUPPRESS,
        metavar="DIR",
        help="use the library in DIR (default: $STUDIO_DATA_DIR or the per-user data folder)",
    )


def _sampling_args(p: argparse.ArgumentParser) -> None:
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
    p.add_argument("--max-tokens", type=int, default=None, help="most tokens per answer (default 4096)")
    p.add_argument("--temperature", type=float, default=None, help="0 = greedy (default 0.2)")
    p.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass (default 0.95)")
    p.add_argument("--seed", type=int, default=None, help="make sampling reproducible")
    p.add_argument("--repetition-penalty", type=float, default=None, help="e.g. 1.1; off by default")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artifacts-studio",
        description="Ask a local code model for something visual; it appears live, sandboxed, exportable.",
    )
    parser.add_argument("--version", action="version", version=f"artifacts-studio {__version__}")
    _data_dir_arg(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", help="open the studio window (the default)")
    gui.add_argument("--model", default=None, help="model folder or Hugging Face repo id to load")
    _sampling_args(gui)
    gui.add_argument(
        "files", nargs="*", metavar="FILE", help="open these: .html in the preview, others attached to a new chat"
    )

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
    _sampling_args(gen)

    ext = sub.add_parser("extract", help="the artifact of a saved answer, as a standalone HTML file")
    ext.add_argument("answer", help="a markdown answer file ('-' reads stdin)")
    ext.add_argument("-o", "--output", default=None, help="write the HTML here (default: stdout)")
    ext.add_argument("--json", action="store_true", help="print {kind, title, truncated, blocks}")

    chk = sub.add_parser("check", help="load an HTML file in the sandbox headless and report problems")
    chk.add_argument("file", help="the .html file")
    chk.add_argument("--screenshot", default=None, metavar="PNG", help="save what rendered")
    chk.add_argument("--wait-ms", type=int, default=1500, help="how long to let it run (default 1500)")
    chk.add_argument("--json", action="store_true", help="print the report as JSON")

    his = sub.add_parser("history", help="list the conversations in the library (or show one)")
    his.add_argument("conversation", nargs="?", default=None, help="show this conversation (id or id prefix)")
    his.add_argument("--json", action="store_true", help="print JSON")

    exp = sub.add_parser("export", help="write an artifact version from the library as one offline .html")
    exp.add_argument("--conversation", required=True, metavar="ID", help="the conversation (id or id prefix)")
    exp.add_argument(
        "--version", type=int, default=None, metavar="N", help="version number (default: current)"
    )
    exp.add_argument("-o", "--output", required=True, metavar="OUT.html", help="where to write the page")
    from studio.evaluate import add_parser as add_eval_parser

    ev = add_eval_parser(sub, _sampling_args)
    from studio.models_cmd import add_parser as add_models_parser

    mod = add_models_parser(sub)
    for p in (gui, gen, ext, chk, his, exp, ev, mod):
        _data_dir_arg(p, top=False)
    return parser


def _command_index(args: list[str]) -> int:
    """Where the command word would be: after any leading ``--data-dir DIR``."""
    i = 0
    while i < len(args) and (args[i] == "--data-dir" or args[i].startswith("--data-dir=")):
        i += 1 if "=" in args[i] else 2
    return i


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    at = _command_index(args_list)
    if at >= len(args_list) or (
        args_list[at] not in COMMANDS and args_list[at] not in ("-h", "--help", "--version")
    ):
        args_list.insert(min(at, len(args_list)), "gui")
    args = build_parser().parse_args(args_list)
    if args.command in ("history", "export"):
        from studio.store import commands as store_commands

        return (
            store_commands.history_main(args)
            if args.command == "history"
            else store_commands.export_main(args)
        )
    if args.command == "extract":
        from studio.commands import extract_main

        return extract_main(args)
    if args.command == "generate":
        from studio.commands import generate_main

        return generate_main(args)
    if args.command == "check":
        from studio.web.checker import check_main

        return check_main(args)
    if args.command == "models":
        from studio.models_cmd import models_main

        return models_main(args)
    if args.command == "eval":
        from studio.evaluate import eval_main

        return eval_main(args)
    from studio.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
