"""Which text encoding a CSV file is in, and a UTF-8 copy when it is not UTF-8.

Exports come as UTF-8 (with or without a byte-order mark) or, when saved from Excel on Windows,
as cp1252. The whole file is checked, not its first lines: a file that is UTF-8 throughout is
UTF-8; otherwise it is cp1252, or latin-1 when it holds bytes cp1252 leaves undefined. A stated
encoding (``--encoding``, or ``encoding`` in a mapping's ``[source]``) is used as it is.
"""

from __future__ import annotations

import codecs
import shutil
from pathlib import Path

from brightspots.ingest.errors import IngestError

CHUNK = 1 << 20
AUTO = "auto"
KNOWN = ("auto", "utf-8", "utf-8-sig", "cp1252", "latin-1")
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


def sniff(path: Path) -> str:
    """'utf-8', 'cp1252' or 'latin-1' (a BOM is read as part of UTF-8)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    undefined = False
    utf8 = True
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            if utf8 and chunk.isascii() and not decoder.getstate()[0]:
                continue  # ASCII is UTF-8 (and no sequence is left open): 4x faster than decoding
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if not utf8 and not undefined:
                undefined = any(b in _CP1252_UNDEFINED for b in chunk)
            if not utf8 and undefined:
                break
    if utf8:
        try:
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
    if not undefined:  # the rest of the file may still hold one
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                if any(b in _CP1252_UNDEFINED for b in chunk):
                    return "latin-1"
        return "cp1252"
    return "latin-1"


def utf8_copy(path: Path, encoding: str, folder: Path, label: str) -> Path:
    """``path`` re-encoded as UTF-8 into ``folder`` under its own name (line breaks kept)."""
    out = folder / path.name
    try:
        with (
            path.open("r", encoding=encoding, newline="") as src,
            out.open("w", encoding="utf-8", newline="") as dst,
        ):
            shutil.copyfileobj(src, dst, CHUNK)
    except UnicodeDecodeError as e:
        raise IngestError(
            f"{label}: not {encoding} text (byte {e.start + 1} of a block cannot be read); "
            "state the file's encoding with --encoding"
        ) from None
    return out
