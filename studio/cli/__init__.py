"""The front door: ``artifacts-studio [--data-dir DIR] [--log-level L] [gui] | generate | extract | check
| history | export | eval | models | open``.

One module per command (:mod:`~studio.cli.generate`, :mod:`~studio.cli.extract`,
:mod:`~studio.cli.check`, :mod:`~studio.cli.library` for history and export, :mod:`~studio.cli.evaluate`,
:mod:`~studio.cli.models`, :mod:`~studio.cli.open`), each with ``add_parser`` and its ``*_main``; :mod:`~studio.cli.common` holds
the exit codes and the engine options. The GUI (:func:`studio.app.main`) takes the parsed options.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from studio import __version__
from studio.cli.common import add_data_dir, add_engine_options

COMMANDS = ("gui", "generate", "extract", "check", "history", "export", "eval", "models", "open")
LOG_LEVELS = ("debug", "info", "warning", "error")
_TOP_OPTIONS = ("--data-dir", "--log-level")


def _add_gui_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    gui = sub.add_parser("gui", help="open the studio window (the default)")
    gui.add_argument("--model", default=None, help="model folder or Hugging Face repo id to load")
    add_engine_options(gui)
    gui.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="open these: .html in the preview, others attached to a new chat",
    )
    return gui


def build_parser(gui_only: bool = False) -> argparse.ArgumentParser:
    """The whole command line: the top options, then one sub-parser per command.

    Args:
        gui_only: only the ``gui`` sub-parser (the window's start skips importing the other commands).
    """
    parser = argparse.ArgumentParser(
        prog="artifacts-studio",
        description="Ask a local code model for something visual; it appears live, sandboxed, exportable.",
    )
    parser.add_argument("--version", action="version", version=f"artifacts-studio {__version__}")
    add_data_dir(parser, top=True)
    parser.add_argument(
        "--log-level",
        default=None,
        choices=LOG_LEVELS,
        type=str.lower,
        help="what the log keeps (default: warning on the console, info in the GUI's log file)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    subs = [_add_gui_parser(sub)]
    if not gui_only:
        from studio.cli import check, evaluate, extract, generate, library, models
        from studio.cli import open as open_cmd

        subs += [
            generate.add_parser(sub),
            extract.add_parser(sub),
            check.add_parser(sub),
            *library.add_parsers(sub),
            evaluate.add_parser(sub),
            models.add_parser(sub),
            open_cmd.add_parser(sub),
        ]
    for p in subs:
        add_data_dir(p, top=False)
    return parser


def _command_index(args: list[str]) -> int:
    """Where the command word would be: after any leading ``--data-dir DIR`` / ``--log-level L``."""
    i = 0
    while i < len(args) and any(args[i] == o or args[i].startswith(o + "=") for o in _TOP_OPTIONS):
        i += 1 if "=" in args[i] else 2
    return i


def _set_log_level(level: str | None) -> None:
    import logging

    if level is not None:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("studio").setLevel(level.upper())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    at = _command_index(args_list)
    if at >= len(args_list) or (
        args_list[at] not in COMMANDS and args_list[at] not in ("-h", "--help", "--version")
    ):
        args_list.insert(min(at, len(args_list)), "gui")
    gui = at < len(args_list) and args_list[at] == "gui"
    args = build_parser(gui_only=gui).parse_args(args_list)
    _set_log_level(args.log_level)
    if args.command == "history":
        from studio.cli.library import history_main

        return history_main(args)
    if args.command == "export":
        from studio.cli.library import export_main

        return export_main(args)
    if args.command == "extract":
        from studio.cli.extract import extract_main

        return extract_main(args)
    if args.command == "generate":
        from studio.cli.generate import generate_main

        return generate_main(args)
    if args.command == "check":
        from studio.cli.check import check_main

        return check_main(args)
    if args.command == "models":
        from studio.cli.models import models_main

        return models_main(args)
    if args.command == "eval":
        from studio.cli.evaluate import eval_main

        return eval_main(args)
    if args.command == "open":
        from studio.cli.open import open_main

        return open_main(args)
    from studio.app import main as gui_main

    return gui_main(args)


__all__ = ["COMMANDS", "build_parser", "main"]
