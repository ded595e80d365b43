"""Import of the canonical ("generic") format into a workspace.

``import_path(ws, path)`` reads a folder of CSV, Parquet or Excel files named after the tables
of the data contract (see ``brightspots.schema``), checks every row with set-based SQL generated
from the schema, upserts the valid rows, quarantines the others with file, line, column, reason,
detail and the raw row, and reports counts per file that add up. It is one write
(``Workspace.writing``): all of it lands, or none of it.

Modules, in the order an import uses them: ``discover`` (which file is which table), ``stage``
(cells as text with physical line numbers; ``lines``, ``excel``), ``layout`` (header -> columns),
``checks`` and ``rules`` (the ordered rules, from the schema), ``parse`` (text -> typed SQL),
``validate`` (one set-based pass), ``store`` (upsert, quarantine, log), ``importer``.

Decisions worth knowing:

- Every cell is read as text; surrounding spaces are trimmed and an empty cell is NULL. Header
  names are trimmed and matched case-insensitively. Unknown columns are kept in
  ``extra_columns`` as JSON (columns empty in every row are dropped).
- Within a file the first row of a key wins; a later identical row is a counted repeat, a later
  different one a ``conflict`` naming the earlier line (``checks``).
- A row whose every cell is empty is ``skipped``; blank lines are not rows at all.
- A newer file replaces a stored row whole: a nullable column the file lacks becomes NULL.
- The quarantine holds each table's rows rejected by its latest import (``store``).
- A reference into a table neither imported nor stored is not checked, with a warning.
- A malformed CSV (wrong number of cells on a line, unterminated quote, not UTF-8), a file
  without its key or a required column, or no required table at all stops the import with one
  line naming the file (and line); the workspace is left as it was.
"""

from brightspots.ingest.errors import IngestError
from brightspots.ingest.importer import import_path
from brightspots.ingest.result import FileCounts, ImportResult

__all__ = ["FileCounts", "ImportResult", "IngestError", "import_path"]
