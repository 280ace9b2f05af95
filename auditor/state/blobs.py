"""What the state keeps of a file: the auditor's own objects, pickled and lightly compressed.

Kept apart from the state's database code: the reader processes pack what
they read, and import no more than this.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from auditor.core.results import FileResult, ProposalResult, compact_json


def pack(value: Any) -> bytes:
    return zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), 1)


def unpack(blob: bytes) -> Any:
    # A state file is the agency's own, written by this very version of the
    # auditor (state/memory.py keys every blob by version), never an
    # applicant's upload.
    return pickle.loads(zlib.decompress(blob))


def pack_judged(
    files: Sequence[FileResult],
    proposals: Sequence[ProposalResult],
    texts: Mapping[str, str] | None,
    file_texts: Mapping[str, str] | None,
) -> dict[str, tuple[bytes, bytes]]:
    """Per file, what the state keeps of its results: two blobs.

    The first holds the file's and its proposals' results without their rule
    checks, and their results.json entries; the second the checks. A nightly
    run loads the first of every unchanged file (the entries hold the checks
    as text) and the second only for the few proposals it must show again:
    the checks are most of the objects, and loading objects is the cost.
    """
    texts, file_texts = texts or {}, file_texts or {}
    mine: dict[str, list[ProposalResult]] = {}
    for proposal in proposals:
        mine.setdefault(proposal.file, []).append(proposal)
    packed = {}
    for file in files:
        theirs = mine.get(file.file, [])
        entries = [texts.get(p.key) or compact_json(p.to_dict()) for p in theirs]
        text = file_texts.get(file.file) or compact_json(file.to_dict())
        light = [replace(p, checks=()) for p in theirs]
        packed[file.file] = (pack((file, light, text, entries)), pack([p.checks for p in theirs]))
    return packed
