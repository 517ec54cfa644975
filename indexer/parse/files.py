"""Which paths in a folder may be read, and reading one without trusting it.

A folder can hold things that are not documents under a document's name: a FIFO (reading it blocks forever, with
the index lock held), a symlink to /dev/zero (reading it never ends), a symlink to /etc/os-release (someone else's
file in the index), a symlink loop. Each is reported as one file's problem and the rest of the batch goes on. The
type and the size are checked on the opened descriptor before a byte is read, so a file swapped after the folder
was listed is caught too.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import ParseError

_FOLLOW_HINT = "pass --follow-symlinks (or set follow_symlinks: true on the folder source) to index what it points to"


@dataclass(frozen=True)
class Candidate:
    """A path found under a root; `problem` says why it will not be read (None: read it)."""

    path: Path
    problem: str | None = None
    hint: str | None = None

    @property
    def origin(self) -> str:
        """The resolved path (the ledger's key for a file), or the absolute path when it cannot be resolved."""
        try:
            return str(self.path.resolve())
        except (OSError, RuntimeError):
            return str(self.path.absolute())


def kind_of(mode: int) -> str:
    """'a FIFO', 'a device', ... for a stat mode that is not a regular file."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def classify(path: Path, root: Path | None, *, follow_symlinks: bool) -> Candidate:
    """Check `path` without opening it: resolvable, inside `root` (the resolved indexed folder) unless symlinks are
    followed, and a regular file."""
    try:
        real = path.resolve(strict=True)
    except RuntimeError:
        return Candidate(path, "a symlink loop; skipped", "fix or remove the link")
    except FileNotFoundError:
        return Candidate(path, "a broken symlink (its target does not exist); skipped", "fix or remove the link")
    except OSError as e:
        if e.errno == 40:  # ELOOP
            return Candidate(path, "a symlink loop; skipped", "fix or remove the link")
        return Candidate(path, f"cannot be read ({e.strerror or e})")
    if root is not None and not follow_symlinks and not real.is_relative_to(root):
        return Candidate(path, f"a symlink leading out of the indexed folder (to {real}); not followed", _FOLLOW_HINT)
    try:
        mode = os.stat(real).st_mode
    except OSError as e:
        return Candidate(path, f"cannot be read ({e.strerror or e})")
    if not stat.S_ISREG(mode):
        return Candidate(path, f"{kind_of(mode)}, not a regular file; skipped",
                         "only regular files are indexed; move it out of the folder")
    return Candidate(path)


def read_regular(path: Path, *, max_bytes: int, shown: str, limit_name: str = "REGWATCH_MAX_FILE_MB") -> bytes:
    """The file's bytes, or ParseError when it is not a regular file or holds more than `max_bytes`.

    Opened non-blocking (a FIFO opens at once instead of waiting for a writer), checked with fstat on that
    descriptor, and read to at most `max_bytes` + 1 bytes (a file growing while read, or lying about its size)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError as e:
        raise ParseError(shown, "no such file", hint="check the path") from e
    except OSError as e:
        if e.errno == 40:
            raise ParseError(shown, "a symlink loop", hint="fix or remove the link") from e
        raise ParseError(shown, f"cannot be read ({e.strerror or e})", hint="check the file's permissions") from e
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ParseError(shown, f"{kind_of(st.st_mode)}, not a regular file",
                             hint="only regular files are indexed; pass a file or a folder of documents")
        if st.st_size > max_bytes:
            raise ParseError(shown, _too_large(st.st_size, max_bytes), hint=_limit_hint(limit_name))
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise ParseError(shown, _too_large(total, max_bytes, grew=True), hint=_limit_hint(limit_name))
        return b"".join(chunks)
    except OSError as e:
        raise ParseError(shown, f"cannot be read ({e.strerror or e})", hint="check the file's permissions") from e
    finally:
        os.close(fd)


def walk(root: Path, *, follow_symlinks: bool) -> Iterator[tuple[Path, Candidate | None]]:
    """(path, a rejected folder or None) for every file under `root`, folders and files sorted, hidden folders
    skipped. Symlinked folders are entered only with `follow_symlinks`, each real folder once (no loop)."""
    real_root = root.resolve()
    visited: set[Path] = set()
    for folder, dirnames, filenames in os.walk(root, followlinks=follow_symlinks):
        here = Path(folder)
        try:
            real_here = here.resolve(strict=True)
        except (OSError, RuntimeError):
            dirnames[:] = []
            continue
        if real_here in visited:
            dirnames[:] = []
            continue
        visited.add(real_here)
        kept = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            sub = here / d
            if sub.is_symlink() and not follow_symlinks:
                real = sub.resolve()
                if not real.is_relative_to(real_root):
                    yield sub, Candidate(sub, f"a symlinked folder leading out of the indexed folder (to {real}); "
                                              "not followed", _FOLLOW_HINT)
                continue
            kept.append(d)
        dirnames[:] = kept
        for filename in sorted(filenames):
            yield here / filename, None


def _too_large(size: int, limit: int, *, grew: bool = False) -> str:
    what = "more than" if grew else f"{size / 1024 / 1024:.1f} MB;"
    return (f"too large ({what} the limit of {limit / 1024 / 1024:g} MB)" if grew
            else f"too large ({what} the limit is {limit / 1024 / 1024:g} MB)")


def _limit_hint(name: str) -> str:
    return f"raise {name} to index it, or split the document"
