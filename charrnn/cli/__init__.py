"""The command line: `python -m charrnn train|sample|evaluate|steer|corpora` on one engine.

Mistakes a user can fix print as `error: ...` with exit code 2; Ctrl-C stops training and saves.
"""

from __future__ import annotations

import sys

from charrnn.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USER_ERROR
from charrnn.cli.console import printable
from charrnn.cli.parser import build_parser
from charrnn.errors import UserError

__all__ = ["build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (0 done, 2 a user error, 130 Ctrl-C)."""
    try:
        args = build_parser().parse_args(argv)
        return args.handler(args)
    except SystemExit as exit:  # argparse: --help, or a mistake in the options
        return exit.code if isinstance(exit.code, int) else EXIT_USER_ERROR
    except UserError as error:
        print(f"error: {printable(str(error))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as error:
        print(f"error: {printable(str(error))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("\nAborted. Checkpoints saved before stay as they were.", file=sys.stderr)
        return EXIT_INTERRUPTED
