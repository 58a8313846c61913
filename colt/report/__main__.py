"""``python -m colt.report RUN_OR_GRID_DIR [--out DIR]``: write report.html and report.md."""

from __future__ import annotations

import argparse
import sys

from colt.errors import UserError
from colt.report.build import write_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m colt.report", description=__doc__)
    parser.add_argument("path", help="a run directory or a grid directory")
    parser.add_argument("--out", default=None, help="where to write (default: the directory)")
    args = parser.parse_args(argv)
    try:
        path = write_report(args.path, args.out)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
