"""``python -m examples.market_hunter [--cycles 144] [--seed 7] [--store sqlite|dynamodb]
[--sqlite-path agentmem-demo/market_hunter.db] [--endpoint-url URL] [--quiet]``"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from rich.console import Console

from .report import print_report, summary_lines
from .run import DEFAULT_SQLITE_PATH, run


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m examples.market_hunter",
        description="A simulated day of the market hunter agent, its learned patterns, and a "
        "second day with memory against one without.",
    )
    parser.add_argument("--cycles", type=int, default=144, help="cycles a day (default 144)")
    parser.add_argument("--seed", type=int, default=7, help="the market's seed (default 7)")
    parser.add_argument("--store", choices=("sqlite", "dynamodb"), default="sqlite")
    parser.add_argument(
        "--sqlite-path",
        default=str(DEFAULT_SQLITE_PATH),
        help=f"SQLite file, recreated each run (default {DEFAULT_SQLITE_PATH})",
    )
    parser.add_argument(
        "--endpoint-url",
        help="DynamoDB-protocol server for --store dynamodb (default: moto in process)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the measured lines")
    args = parser.parse_args(argv)
    if args.cycles < 1:
        parser.error("--cycles must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    result = run(
        args.cycles,
        args.seed,
        store=args.store,
        sqlite_path=args.sqlite_path,
        endpoint_url=args.endpoint_url,
    )
    if args.quiet:
        print("\n".join(summary_lines(result)))
    else:
        print_report(result, Console())


if __name__ == "__main__":
    main()
