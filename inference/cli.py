"""medanon COMMAND ...: the console command an installed medanon gives (pyproject [project.scripts]).

    medanon run INPUT OUTPUT [options]     = python -m inference.run
    medanon audit OUTPUT [options]         = python -m inference.audit
    medanon review OUTPUT [options]        = python -m inference.review

Each command is the module's own main(): one parser per command, so help and exit statuses stay the same.
"""
from __future__ import annotations

import sys
from typing import Callable


def _run(argv: list[str]) -> int:
    from .run import main
    return main(argv)


def _audit(argv: list[str]) -> int:
    from .audit.cli import main
    return main(argv)


def _review(argv: list[str]) -> int:
    from .review.__main__ import main
    return main(argv)


COMMANDS: dict[str, tuple[Callable[[list[str]], int], str]] = {
    "run": (_run, "anonymise INPUT into OUTPUT (python -m inference.run)"),
    "audit": (_audit, "audit an OUTPUT against its INPUT (python -m inference.audit)"),
    "review": (_review, "the local review station (python -m inference.review)"),
}


def _usage() -> str:
    from . import __version__
    lines = [f"usage: medanon {{{','.join(COMMANDS)}}} ...   (medanon {__version__})", ""]
    lines += [f"  {name:7s} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "medanon COMMAND --help shows the options of one command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(_usage(), file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    if args[0] == "--version":
        from . import __version__
        print(f"medanon {__version__}")
        return 0
    command = COMMANDS.get(args[0])
    if command is None:
        print(f"error: unknown command {args[0]!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    return command[0](args[1:])


if __name__ == "__main__":
    sys.exit(main())
