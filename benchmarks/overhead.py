"""Capture overhead, both halves: ``@decision`` per call and the LangChain handler per chain.

    .venv/bin/python -m benchmarks.overhead

Runs :mod:`benchmarks.decorator_overhead`, :mod:`benchmarks.handler_overhead` and
:mod:`benchmarks.handler_instructions` (needs valgrind) with their default settings; each
writes its own section of benchmarks/RESULTS.md. Run any module on its own to pass options.
"""

from __future__ import annotations

import os
import sys

from . import decorator_overhead, handler_instructions, handler_overhead


def main() -> None:
    decorator_overhead.main([])
    handler_overhead.main([])
    handler_instructions.main([])


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # as handler_overhead: the offline tracers' exit hooks would retry for minutes
