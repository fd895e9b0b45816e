"""Moving an agent's memory between stores and files: export, import, the file format.

- :mod:`.records` — :func:`export_records` and :func:`import_records`, with their summaries;
- :mod:`.format` — the export file: its header, one JSON line per record, the CSV columns;
- :mod:`.langgraph_records` — the LangGraph kinds (thread checkpoints, store items).
"""

from __future__ import annotations

from .format import ALL_KINDS, LANGGRAPH_KINDS, MAX_LINE_CHARS
from .records import (
    CSV_COLUMNS,
    FORMAT,
    FORMAT_VERSION,
    KINDS,
    Counts,
    ExportSummary,
    ImportInterrupted,
    ImportSummary,
    Progress,
    Source,
    Target,
    check_export_target,
    csv_row,
    export_records,
    import_records,
)

__all__ = [
    "ALL_KINDS",
    "CSV_COLUMNS",
    "FORMAT",
    "FORMAT_VERSION",
    "KINDS",
    "LANGGRAPH_KINDS",
    "MAX_LINE_CHARS",
    "Counts",
    "ExportSummary",
    "ImportInterrupted",
    "ImportSummary",
    "Progress",
    "Source",
    "Target",
    "check_export_target",
    "csv_row",
    "export_records",
    "import_records",
]
