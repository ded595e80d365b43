"""ZIP archives: an export delivered as one ZIP, or a folder of ZIP parts, read as a folder.

A Salesforce weekly export arrives as ``WE_<org>_1.ZIP``, ``WE_<org>_2.ZIP``, ... with one
``<Object>.csv`` per object; a big object continues in the next part under the same name. The
parts are unpacked into one temporary folder; a file found in several parts is read as one file
(its header once, the parts' rows in part order), and the import says so.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from brightspots.ingest.errors import IngestError


def _zips(path: Path) -> list[Path]:
    if path.is_file():
        return [path] if zipfile.is_zipfile(path) else []
    if path.is_dir():
        inside = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if inside and all(p.suffix.lower() == ".zip" for p in inside):
            return inside
    return []


MAX_MEMBERS = 10_000
MAX_RATIO = 200  # a member expanding more than this is a ZIP bomb, not an export
RATIO_FROM = 1 << 20  # ... once it is over a megabyte (tiny files compress oddly)


def _check_sizes(archives: list[tuple[Path, zipfile.ZipFile]], folder: Path) -> None:
    """Refuse what cannot be a CRM export before unpacking anything: too many members, a member
    that expands too much, or more than the temporary folder's free space."""
    total = 0
    for path, archive in archives:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise IngestError(
                f"{path.name}: {len(infos):,} files in one ZIP (at most {MAX_MEMBERS:,})"
            )
        for info in infos:
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_FROM and ratio > MAX_RATIO:
                raise IngestError(
                    f"{path.name}: {info.filename} expands {ratio:,.0f} times "
                    f"({info.file_size:,} bytes); that is not a data export"
                )
    free = shutil.disk_usage(folder).free
    if total > 0.8 * free:
        raise IngestError(
            f"unpacking needs {total / 1e9:,.1f} GB and {folder} has {free / 1e9:,.1f} GB free; "
            "unpack the archive yourself where there is room, and import the folder"
        )


def _append(dst: Path, src: Path, label: str) -> None:
    """``src``'s rows after ``dst``'s: its first line must be ``dst``'s header, and is left
    out; a part that does not end its last line gets a line break first."""
    with dst.open("rb") as f:
        header = f.readline()
        f.seek(max(0, dst.stat().st_size - 1))
        last = f.read(1)
    with src.open("rb") as f, dst.open("ab") as out:
        first = f.readline()
        if first.lstrip(b"\xef\xbb\xbf").rstrip(b"\r\n") != header.lstrip(b"\xef\xbb\xbf").rstrip(
            b"\r\n"
        ):
            raise IngestError(
                f"{label}: this part's first line is not the header of the part before it; "
                "unpack the archives and join the file by hand"
            )
        if last not in (b"\n", b""):
            out.write(b"\n")
        shutil.copyfileobj(f, out, 1 << 20)


@contextmanager
def unpacked(path: Path, notes: list[str]) -> Iterator[Path]:
    """``path`` itself, or a temporary folder with the ZIP (or ZIP parts) unpacked."""
    zips = _zips(path)
    if not zips:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="brightspots-zip-") as tmp:
        folder = Path(tmp)
        seen: dict[str, str] = {}
        seen_path: dict[str, str] = {}  # the member path each name came from
        opened = []
        for z in zips:
            try:
                opened.append((z, zipfile.ZipFile(z)))
            except zipfile.BadZipFile as e:
                raise IngestError(f"{z.name}: not a readable ZIP archive ({e})") from None
        try:
            _check_sizes(opened, folder)
        except IngestError:
            for _, a in opened:
                a.close()
            raise
        for z, archive in opened:
            with archive:
                for info in archive.infolist():
                    name = Path(info.filename).name
                    if info.is_dir() or not name or name.startswith((".", "__MACOSX")):
                        continue
                    part = folder / f".part-{len(seen)}-{name}"
                    with archive.open(info) as src, part.open("wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    key = name.lower()
                    if key in seen and seen_path[key] != info.filename.lower():
                        raise IngestError(
                            f"{z.name}: {info.filename} and {seen_path[key]} have the same name "
                            "in different folders; unpack the archive and import one of them"
                        )
                    seen_path[key] = info.filename.lower()
                    if key in seen:
                        _append(folder / seen[key], part, f"{z.name}: {name}")
                        part.unlink()
                        notes.append(
                            f"{name} continues in {z.name}: its parts are read as one file"
                        )
                    else:
                        part.rename(folder / name)
                        seen[key] = name
        if not seen:
            raise IngestError(f"{path.name}: the ZIP holds no files")
        yield folder
