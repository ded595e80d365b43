"""What an import reports: counts per file that add up, and why rows were quarantined."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class FileCounts:
    """One imported file (or workbook sheet).

    ``read = inserted + updated + unchanged + repeats + skipped + quarantined`` always holds:
    ``repeats`` are exact copies of an earlier row of the file, ``skipped`` are rows whose every
    cell is empty.
    """

    file: str
    table: str
    read: int
    inserted: int
    updated: int
    unchanged: int
    repeats: int
    skipped: int
    quarantined: int

    def __post_init__(self) -> None:
        parts = (
            self.inserted,
            self.updated,
            self.unchanged,
            self.repeats,
            self.skipped,
            self.quarantined,
        )
        if min(parts) < 0 or sum(parts) != self.read:
            raise AssertionError(f"{self.file}: counts do not add up: {self}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ImportResult:
    import_id: str
    files: list[FileCounts]
    quarantine_by_reason: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    #: how the files were read: "generic" (the contract), "mapping" (a mapping file) or a
    #: preset's name ("salesforce", ...)
    format: str = "generic"
