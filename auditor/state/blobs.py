"""What the state keeps of a file: the auditor's own objects, pickled and lightly compressed.

Kept apart from the state's database code: the reader processes pack what
they read, and import no more than this.
"""

from __future__ import annotations

import pickle
import zlib
from typing import Any


def pack(value: Any) -> bytes:
    return zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), 1)


def unpack(blob: bytes) -> Any:
    # A state file is the agency's own, written by this very version of the
    # auditor (state/memory.py keys every blob by version), never an
    # applicant's upload.
    return pickle.loads(zlib.decompress(blob))
