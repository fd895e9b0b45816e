"""Moving an agent's memory between stores and files: export, import, the file format.

- :mod:`.records` — :func:`export_records` and :func:`import_records`, with their summaries;
- :mod:`.format` — the export file: its header, one JSON line per record, the CSV columns.
"""

from __future__ import annotations

from .format import MAX_LINE_CHARS
from .records import (
    CSV_COLUMNS,
    FORMAT,
    FORMAT_VERSION,
    KINDS,
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
    "CSV_COLUMNS",
    "FORMAT",
    "FORMAT_VERSION",
    "KINDS",
    "MAX_LINE_CHARS",
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
