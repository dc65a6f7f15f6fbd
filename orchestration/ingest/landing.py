"""What is waiting in the landing area: `lake/landing/<company_id>/...`.

Only regular files inside a registered company's folder are offered for ingest. Everything else
is reported with a reason (never silently skipped): files of unknown companies, files directly in
the landing root, symbolic links and hard links (never followed or read, wherever they point),
files owned by another user than the landing area, unsafe names, hidden files and files that are
still being written. Empty files are offered: the parser rejects them as `empty_file`, so they are
quarantined under their company.

A file is complete when it has not changed for the settle time (size, mtime and ctime; ctime
because upload tools that keep the sender's mtime still move ctime) and no process has it open
for writing (Linux: /proc/*/fd). Files that are not complete yet are `waiting`, not rejected:
they are taken by a later scan. A client whose mapping names a `completion_marker` (e.g.
`{name}.done`) signals completion itself: its file is taken once the marker exists and is not
older than the file's last change (no settle time then), and the marker files themselves are
neither ingested nor rejected (`LandingScan.markers`). `read_landing_file` then reads the bytes once, through the same
checks on the open descriptor, and refuses them if the file moved since the scan: what is hashed
is exactly what is parsed.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from orchestration import settings
from orchestration.ingest.mapping import ClientMapping

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TEMPORARY = re.compile(
    r"(^~\$)|(^\.~lock\..*#?$)|(\.(part|partial|tmp|temp|crdownload|download|swp|filepart)$)|(^~.*\.tmp$)",
    re.IGNORECASE,
)

# Entries whose bytes are never read or copied (not even into quarantine): they are not the upload's own.
NEVER_READ = frozenset({"symlink", "hard_link", "foreign_owner", "special_file"})


@dataclass(frozen=True)
class LandingFile:
    company_id: str
    path: Path
    relative_path: str  # "<company_id>/<sub/path>", always with forward slashes
    size: int
    mtime: float


@dataclass(frozen=True)
class FileRejection:
    file: str  # relative to the landing root (printable: control characters escaped)
    reason: str
    message: str


@dataclass
class LandingScan:
    files: list[LandingFile] = field(default_factory=list)
    rejected: list[FileRejection] = field(default_factory=list)
    waiting: list[FileRejection] = field(default_factory=list)  # not complete yet: taken by a later scan
    markers: list[str] = field(default_factory=list)  # completion marker files seen (signals, never data)

    def for_company(self, company_id: str) -> list[LandingFile]:
        return [f for f in self.files if f.company_id == company_id]


def printable(relative: str) -> str:
    """A path as it can be stored and shown: control characters and undecodable bytes escaped."""
    text = relative.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def name_problem(name: str) -> tuple[str, str] | None:
    """(reason, why) when a single path component must not be ingested."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "unsafe_name", "the name is not valid UTF-8"
    if CONTROL.search(name):
        return "unsafe_name", "the name contains control characters (e.g. a newline or tab)"
    if "\\" in name or ".." in name and name.strip(".") == "" or name.startswith(".."):
        return "unsafe_name", "the name contains '..' or a backslash"
    if name != name.strip() and name.strip() == "":
        return "unsafe_name", "the name is blank"
    if TEMPORARY.search(name):
        return "temporary_file", "a file that is still being written, or an editor's lock file"
    if name.startswith("."):
        return "hidden_file", "hidden files are not client exports"
    return None


def discover_landing(landing_root: Path, known_companies: set[str], *, settle_seconds: float | None = None,
                     now: float | None = None, mappings: Mapping[str, ClientMapping] | None = None) -> LandingScan:
    """Every ingestable file under `landing_root`, every other entry with the reason it is not, and
    the files still being written (`settle_seconds`: default `settings.landing_settle_seconds()`).
    `mappings` (company -> its mapping) apply the companies' completion markers; a company without
    one here has its files taken once settled."""
    scan = LandingScan()
    root = Path(landing_root)
    if not root.is_dir():
        return scan
    settle = settings.landing_settle_seconds() if settle_seconds is None else settle_seconds
    now = time.time() if now is None else now
    writing = open_for_writing(root)
    owners = {root.lstat().st_uid}
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        rel = entry.name
        if entry.is_symlink():
            scan.rejected.append(_rejection(rel, "symlink", f"symbolic link {_target(entry.path)}; links in the "
                                            "landing area are never followed"))
            continue
        problem = name_problem(entry.name)
        if problem is not None and problem[0] == "unsafe_name":
            scan.rejected.append(_rejection(rel, *problem))
            continue
        if not entry.is_dir(follow_symlinks=False):
            scan.rejected.append(_rejection(rel, "not_in_company_folder",
                                            "files must be under lake/landing/<company_id>/"))
            continue
        if problem is not None:  # a hidden folder (e.g. .Trash) or a temporary one
            scan.rejected.append(_rejection(rel, *problem))
            continue
        company_known = entry.name in known_companies
        folder_owners = owners | {entry.stat(follow_symlinks=False).st_uid}
        mapping = (mappings or {}).get(entry.name) if company_known else None
        walked = [(path, path.relative_to(root).as_posix(), reason, message, path.lstat() if reason is None else None)
                  for path, reason, message in _walk(Path(entry.path), root)]
        markers = {}  # completion markers present, by their path within the company folder (casefolded)
        if mapping is not None and any(spec.completion_marker for spec in mapping.datasets):
            markers = {rel_path.split("/", 1)[1].casefold(): info for _, rel_path, reason, _, info in walked
                       if reason is None and mapping.is_completion_marker(rel_path.split("/", 1)[1])
                       and foreign_file_problem(info, folder_owners)[0] is None}
        for path, rel_path, reason, message, info in walked:
            within = rel_path.split("/", 1)[1]
            if within.casefold() in markers:
                scan.markers.append(rel_path)
                continue
            if reason is None:
                reason, message = foreign_file_problem(info, folder_owners)
            if reason is None and not company_known:
                reason, message = "unknown_company", f"{entry.name!r} is not in clients/registry.yaml"
            if reason is not None:
                scan.rejected.append(_rejection(rel_path, reason, message))
                continue
            expected = mapping.completion_markers_for(within) if mapping is not None else ()
            if expected:
                waiting = marker_missing_reason(info, expected, markers, str(path) in writing)
                if waiting is not None:
                    scan.waiting.append(_rejection(rel_path, "waiting_for_marker", waiting))
                    continue
            else:
                unsettled = unsettled_reason(info, now, settle, str(path) in writing)
                if unsettled is not None:
                    scan.waiting.append(_rejection(rel_path, "still_being_written", unsettled))
                    continue
            scan.files.append(LandingFile(entry.name, path, rel_path, info.st_size, info.st_mtime))
    return scan


def marker_missing_reason(info: os.stat_result, expected: tuple[str, ...], markers: Mapping[str, os.stat_result],
                          open_for_write: bool) -> str | None:
    """Why a file whose mapping names a completion marker is not complete yet, or None. A marker
    older than the file's last change belongs to an earlier version: the client re-exported the
    file after it, and the new version waits for a new marker."""
    if open_for_write:
        return "a process still has the file open for writing"
    changed = max(info.st_mtime, info.st_ctime)
    for marker in expected:
        found = markers.get(marker.casefold())
        if found is None:
            return f"waiting for its completion marker {marker}"
        if max(found.st_mtime, found.st_ctime) < changed:
            return f"changed after its completion marker {marker} was written; waiting for a new marker"
    return None


def foreign_file_problem(info: os.stat_result, owners: set[int]) -> tuple[str | None, str]:
    """A regular file that is not the landing area's own: a hard link (its bytes belong to another
    path, e.g. a system file) or a file of another user. Refused like a symlink: never read."""
    if info.st_nlink != 1:
        return "hard_link", (f"the file has {info.st_nlink} hard links; a hard link shares its bytes with a path "
                             "outside the upload and is never read")
    if info.st_uid not in owners:
        return "foreign_owner", (f"the file is owned by user id {info.st_uid}, not by the landing area's owner "
                                 f"({', '.join(map(str, sorted(owners)))})")
    return None, ""


def unsettled_reason(info: os.stat_result, now: float, settle: float, open_for_write: bool) -> str | None:
    if open_for_write:
        return "a process still has the file open for writing"
    changed = max(info.st_mtime, info.st_ctime)
    if now - changed < settle:
        return f"changed {max(now - changed, 0):.0f}s ago; taken once unchanged for {settle:g}s"
    return None


def open_for_writing(root: Path) -> set[str]:
    """Paths under `root` that some process has open for writing (Linux /proc; empty elsewhere or
    for processes we may not inspect)."""
    prefix = str(Path(root).resolve()) + os.sep
    found: set[str] = set()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
                if not target.startswith(prefix):
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as info:
                    flags = int(next(line for line in info if line.startswith("flags:")).split()[1], 8)
            except (OSError, StopIteration, ValueError):
                continue
            if flags & (os.O_WRONLY | os.O_RDWR):
                found.add(target)
    return found


class FileChanged(Exception):
    """The file changed (or was replaced) between the scan and the read; a later scan takes it."""


@dataclass(frozen=True)
class LandingContent:
    data: bytes | None  # None: larger than the file limit, hashed while streaming and never held
    sha256: str
    size: int
    mtime: float


def read_landing_file(landing_file: LandingFile, max_bytes: int | None = None) -> LandingContent:
    """The file's bytes, read once, and their hash. Opened without following links, checked again
    on the open descriptor (regular, one link, the size and mtime the scan saw) and re-checked
    after the read, so the bytes hashed are the bytes parsed and belong to one version of the file."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(landing_file.path, flags)
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode) or before.st_nlink != 1:
            raise FileChanged(f"{landing_file.relative_path} is no longer a plain regular file")
        if (before.st_size, before.st_mtime) != (landing_file.size, landing_file.mtime):
            raise FileChanged(f"{landing_file.relative_path} changed since the landing scan")
        keep = max_bytes is None or before.st_size <= max_bytes
        digest = None if keep else hashlib.sha256()
        chunks, remaining, read = [], before.st_size, 0
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk) if keep else digest.update(chunk)
            remaining -= len(chunk)
            read += len(chunk)
        after = os.fstat(fd)
        if read != before.st_size or (after.st_size, after.st_mtime) != (before.st_size, before.st_mtime):
            raise FileChanged(f"{landing_file.relative_path} changed while it was read")
    finally:
        os.close(fd)
    if not keep:
        return LandingContent(None, digest.hexdigest(), before.st_size, before.st_mtime)
    data = b"".join(chunks)
    return LandingContent(data, hashlib.sha256(data).hexdigest(), before.st_size, before.st_mtime)


def _walk(folder: Path, root: Path):
    """(path, reason or None, message) for every entry under a company folder; never follows links."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:
        yield folder, "special_file", f"cannot list the folder: {error.strerror}"
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink():
            yield path, "symlink", f"symbolic link {_target(entry.path)}; links in the landing area are never followed"
            continue
        problem = name_problem(entry.name)
        if problem is not None:
            yield path, problem[0], problem[1]
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(path, root)
            continue
        mode = entry.stat(follow_symlinks=False).st_mode
        if not stat.S_ISREG(mode):
            yield path, "special_file", "not a regular file (FIFO, socket or device)"
            continue
        yield path, None, ""


def _target(path: str) -> str:
    try:
        return f"to {os.readlink(path)!r}"
    except OSError:
        return ""


def _rejection(rel: str, reason: str, message: str) -> FileRejection:
    return FileRejection(printable(rel), reason, message)
