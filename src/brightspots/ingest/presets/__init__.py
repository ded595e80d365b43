"""Presets: how a CRM's own export becomes the contract, without a mapping file.

``detect(folder)`` names the format of an export from its file names and headers; an export that
could be read two ways is a question for the user (``--preset``), never a guess. ``build`` gives
the preset's ``Mapping`` (see ``ingest.mapping``) for the files in the folder, with notes on what
the export holds (e.g. which buyer signals it has).
"""

from __future__ import annotations

from pathlib import Path

from brightspots import schema
from brightspots.ingest.errors import IngestError
from brightspots.ingest.mapping import Mapping
from brightspots.ingest.presets import hubspot, salesforce

PRESETS = ("generic", "salesforce", "hubspot")


def detect(folder: Path) -> tuple[str, str]:
    """(preset, why): the format of the export in ``folder``."""
    names = {p.name.lower() for p in folder.iterdir() if p.is_file()}
    found = []
    if all(n in names for n in salesforce.SIGNATURE):
        found.append(("salesforce", "Salesforce objects User.csv, Account.csv, Opportunity.csv"))
    if hubspot.looks_like(folder):
        found.append(("hubspot", "HubSpot CRM export files (hubspot-crm-exports-...)"))
    elif {"deals", "companies"} <= set(hubspot.files_in(folder)):
        found.append(("hubspot", "HubSpot columns (Record ID, Deal Stage, Company name, ...)"))
    canonical = sorted(n for n in names if n.rsplit(".", 1)[0] in schema.BY_NAME and "." in n)
    if canonical:
        found.append(
            (
                "generic",
                "files named after the contract's tables: "
                + ", ".join(canonical[:4])
                + (", ..." if len(canonical) > 4 else ""),
            )
        )
    if len(found) > 1:
        raise IngestError(
            f"{folder}: this folder could be read two ways ("
            + "; ".join(f"{name}: {why}" for name, why in found)
            + "); say which with --preset "
            + " or --preset ".join(n for n, _ in found)
        )
    if not found:
        return "generic", "no known export format"
    return found[0]


def build(
    preset: str,
    folder: Path,
    *,
    currency: str,
    encoding: str = "auto",
    timezone: str = "UTC",
    options: Path | None = None,
) -> tuple[Mapping, list[str]]:
    """``options``: a preset's own settings file (HubSpot: the stage map)."""
    if options is not None and preset != "hubspot":
        raise IngestError(
            f"--mapping with --preset {preset}: a mapping file replaces a preset (only the "
            "hubspot preset takes one, for its stage map)"
        )
    if preset == "salesforce":
        return salesforce.mapping(folder, currency=currency, encoding=encoding)
    if preset == "hubspot":
        return hubspot.mapping(
            folder, currency=currency, encoding=encoding, stage_map=options, timezone=timezone
        )
    raise IngestError(f"preset {preset!r}: use one of {', '.join(PRESETS)}")
