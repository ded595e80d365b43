"""The error that stops an import: the workspace is left exactly as it was."""

from brightspots.errors import BrightspotsError


class IngestError(BrightspotsError):
    """A file cannot be imported at all (unreadable, not CSV, no key column, ...).

    The message is one line naming the file, and the row and column where they apply.
    """
