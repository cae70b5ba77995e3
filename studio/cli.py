"""The front door: ``artifacts-studio [gui] | generate | extract | check``.

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
COMMANDS = ("gui", "generate", "extract", "check")


def _sampling_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", default="mlx", help="model backend (default: mlx)")
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", help="open the studio window (the default)")
    gui.add_argument("--model", default=None, help="model folder or Hugging Face repo id to load")
    _sampling_args(gui)

    gen = sub.add_parser("generate", help="stream an answer from a model on the command line")
    gen.add_argument(
        "--model", required=True, help="model folder or Hugging Face repo id (from the local cache)"
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0] not in COMMANDS and args_list[0] not in ("-h", "--help", "--version")):
        args_list.insert(0, "gui")
    args = build_parser().parse_args(args_list)
    if args.command == "extract":
        from studio.commands import extract_main

        return extract_main(args)
    if args.command == "generate":
        from studio.commands import generate_main

        return generate_main(args)
    if args.command == "check":
        from studio.web.checker import check_main

        return check_main(args)
    from studio.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
