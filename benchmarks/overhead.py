"""Capture overhead, both halves: ``@decision`` per call and the LangChain handler per chain.

    .venv/bin/python -m benchmarks.overhead

Runs :mod:`benchmarks.decorator_overhead` then :mod:`benchmarks.handler_overhead` with their
default settings; each writes its own section of benchmarks/RESULTS.md. Run either module on
its own to pass options.
"""

from __future__ import annotations

from . import decorator_overhead, handler_overhead


def main() -> None:
    decorator_overhead.main([])
    handler_overhead.main([])


if __name__ == "__main__":
    main()
