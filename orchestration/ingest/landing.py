"""What is waiting in the landing area: `lake/landing/<company_id>/...`.

Only regular files inside a registered company's folder are offered for ingest. Everything else
is reported with a reason (never silently skipped): files of unknown companies, files directly in
the landing root, symbolic links (never followed, wherever they point), unsafe names, hidden files
and files that are still being written. Empty files are offered: the parser rejects them as
`empty_file`, so they are quarantined under their company.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TEMPORARY = re.compile(
    r"(^~\$)|(^\.~lock\..*#?$)|(\.(part|partial|tmp|temp|crdownload|download|swp|filepart)$)|(^~.*\.tmp$)",
    re.IGNORECASE,
)


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


def discover_landing(landing_root: Path, known_companies: set[str]) -> LandingScan:
    """Every ingestable file under `landing_root`, and every other entry with the reason it is not."""
    scan = LandingScan()
    root = Path(landing_root)
    if not root.is_dir():
        return scan
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
        for path, reason, message in _walk(Path(entry.path), root):
            rel_path = path.relative_to(root).as_posix()
            if reason is None and not company_known:
                reason, message = "unknown_company", f"{entry.name!r} is not in clients/registry.yaml"
            if reason is not None:
                scan.rejected.append(_rejection(rel_path, reason, message))
                continue
            info = path.lstat()
            scan.files.append(LandingFile(entry.name, path, rel_path, info.st_size, info.st_mtime))
    return scan


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
