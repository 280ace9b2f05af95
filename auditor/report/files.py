"""Writing outputs without ever leaving half a file behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from auditor.core.errors import OutputError


def _process_umask() -> int:
    """The process's umask (read by setting it, so once, at import; the moment
    between the two calls leaves it stricter, never looser)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


UMASK = _process_umask()
# What a file or folder made the ordinary way would get: temporary files
# (mkstemp, mkdtemp) are private, and reports are renamed into place from them.
FILE_MODE, FOLDER_MODE = 0o666 & ~UMASK, 0o777 & ~UMASK


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
        try:
            os.fchmod(handle, FILE_MODE)
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            Path(temporary).replace(path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from error
