"""The results document (outputs.md): ``results.json`` and ``--format json``.

The document is laid out one proposal (and one file) per line: the header
fields are indented as usual, each entry of ``proposals`` and ``files`` is
compact on a line of its own. That keeps it readable, diffable and greppable
for a batch of ten thousand proposals, lets entries be rendered as their
chunk is judged and kept by the state (``EntryCache``), and uses the C encoder: pretty-printing a
whole document with ``indent`` takes the pure-Python encoder, four times
slower.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from auditor.core.errors import StateError
from auditor.core.results import (
    AuditResult,
    FileResult,
    HeldLinks,
    ProposalResult,
    compact_json,
)
from auditor.report.files import write_atomic
from auditor.report.names import Links


def proposal_entry(proposal: ProposalResult, links: Links | None = None) -> dict[str, Any]:
    if links is None:
        return proposal.to_dict()
    return proposal.entry(links.pages.get(proposal.key), links.annotated.get(proposal.file))


def file_entry(file: FileResult, links: Links | None = None) -> dict[str, Any]:
    if links is None:
        return file.to_dict()
    return file.entry(links.annotated.get(file.file))


def results_document(result: AuditResult, links: Links | None = None) -> dict[str, Any]:
    """The document; with ``links``, each proposal's page and each file's annotated copy."""
    document = _head(result)
    document["proposals"] = [proposal_entry(p, links) for p in result.proposals]
    document["files"] = [file_entry(f, links) for f in result.files]
    return document


def _head(result: AuditResult) -> dict[str, Any]:
    return result.head()


_compact = compact_json
_Kept = str | tuple[int, int]  # an entry's text, or where it is in the spool (offset, size)
_NONE: HeldLinks = (None, None)
_WITHOUT = object()  # ``_relinked``: the entry without the key at all (not null)
Changed = tuple[str, str, HeldLinks]  # an entry that took other links: (name, text, links)


class EntryCache:
    """Entries rendered as soon as their chunk is judged (often where it was judged),
    or kept by the state.

    An entry from a worker holds the links of a run without pages or annotated
    copies (``--reports results``: null); one kept by the state holds the links
    it was last written with. Where the links this run gives are others, they
    are changed in the entry as data (texts are never cut and joined), once:
    the entry is kept with its new links (``changed`` lists them, for the
    state to keep in turn), so a nightly run whose pages keep their names
    writes its stored entries as they are. An entry is used only for the very
    result object it was made from: a proposal judged again (a duplicate ID
    settled at the end of the run) is a new object and is rendered afresh.

    With ``spool`` (a folder) the texts wait in a file there, not in memory:
    ten thousand entries are tens of megabytes, which would otherwise grow
    with the batch until results.json is written. The file has no name
    (deleted as soon as it is made), so nothing of it outlives the run.
    """

    def __init__(self, spool: Path | None = None) -> None:
        # Open until ``close`` (the command's --format json reads it after the
        # report is written), or until the cache is dropped.
        self._spool = None if spool is None else tempfile.TemporaryFile(dir=spool)  # noqa: SIM115
        self._end = 0
        self._entries: dict[str, tuple[ProposalResult, _Kept, HeldLinks]] = {}
        self._files: dict[str, tuple[FileResult, _Kept, HeldLinks]] = {}
        # The proposals (by key) and files whose entry took other links: dictionaries
        # for their order, a file's proposals together.
        self._changed: dict[str, None] = {}
        self._changed_files: dict[str, None] = {}

    def _kept(self, texts: list[str]) -> Sequence[_Kept]:
        """``texts``, or where each went in the spool (written in one piece)."""
        if self._spool is None:
            return texts
        places: list[_Kept] = []
        pieces = []
        for text in texts:
            data = text.encode("utf-8")
            places.append((self._end, len(data)))
            pieces.append(data)
            self._end += len(data)
        whole = memoryview(b"".join(pieces))
        at = self._end - len(whole)
        while whole:  # a write may take less than it is given
            written = os.pwrite(self._spool.fileno(), whole, at)
            whole, at = whole[written:], at + written
        return places

    def _text(self, kept: _Kept) -> str:
        if isinstance(kept, str):
            return kept
        assert self._spool is not None
        offset, size = kept
        data = b""
        while len(data) < size:  # a read, too, may give less than asked
            more = os.pread(self._spool.fileno(), size - len(data), offset + len(data))
            if not more:
                raise OSError(f"the spool of results.json's entries ends early at {offset}")
            data += more
        return data.decode("utf-8")

    def close(self) -> None:
        """Let the spool go (its space is freed); the entries cannot be read after."""
        if self._spool is not None:
            self._spool.close()

    def add(
        self,
        proposals: Iterable[ProposalResult],
        texts: Mapping[str, str] | None,
        held: Mapping[str, HeldLinks] | None = None,
    ) -> None:
        """Keep the entries of ``proposals`` already rendered (``texts``, by key), with
        the links each holds (``held``, by key; none given: null links)."""
        self._keep({p.key: p for p in proposals}, texts, held, self._entries)

    def add_files(
        self,
        files: Iterable[FileResult],
        texts: Mapping[str, str] | None,
        held: Mapping[str, HeldLinks] | None = None,
    ) -> None:
        """Keep the entries of ``files`` already rendered (by file), with their links."""
        self._keep({f.file: f for f in files}, texts, held, self._files)

    def _keep(
        self,
        results: Mapping[str, Any],
        texts: Mapping[str, str] | None,
        held: Mapping[str, HeldLinks] | None,
        into: dict[str, tuple[Any, _Kept, HeldLinks]],
    ) -> None:
        """``results`` by key (or file), their texts kept with the links they hold."""
        if not texts:
            return
        given = [name for name in results if name in texts]
        held = held or {}
        for name, place in zip(given, self._kept([texts[name] for name in given]), strict=True):
            into[name] = (results[name], place, held.get(name, _NONE))

    def text(self, proposal: ProposalResult, links: Links | None) -> str:
        cached = self._entries.get(proposal.key)
        if cached is None or cached[0] is not proposal:
            return _compact(proposal_entry(proposal, links))
        if links is None:
            return _relinked(self._text(cached[1]), "report", _WITHOUT)
        page, copy = links.pages.get(proposal.key), links.annotated.get(proposal.file)
        link = {"page": page, "annotated": copy}
        return self._linked(
            self._entries, self._changed, proposal.key, "report", link, (page, copy)
        )

    def file_text(self, file: FileResult, links: Links | None) -> str:
        cached = self._files.get(file.file)
        if cached is None or cached[0] is not file:
            return _compact(file_entry(file, links))
        if links is None:
            return _relinked(self._text(cached[1]), "annotated", _WITHOUT)
        copy = links.annotated.get(file.file)
        return self._linked(
            self._files, self._changed_files, file.file, "annotated", copy, (None, copy)
        )

    def _linked(
        self,
        kept: dict[str, tuple[Any, _Kept, HeldLinks]],
        changed: dict[str, None],
        name: str,
        key: str,
        link: Any,
        wanted: HeldLinks,
    ) -> str:
        """The kept entry ``name`` with ``link`` under ``key``: as kept where it holds those
        links already, else changed once and kept so (``changed`` remembers it)."""
        result, place, held = kept[name]
        if wanted == held:
            return self._text(place)
        text = _relinked(self._text(place), key, link)
        kept[name] = (result, self._kept([text])[0], wanted)
        changed[name] = None
        return text

    def fingerprint(self, proposal: ProposalResult, links: Links) -> str:
        """What the proposal's page is made from, for telling whether it changed: its
        entry with ``links`` (as results.json will have it: changed once, here)."""
        return self.text(proposal, links)

    def file_fingerprint(self, file: FileResult, links: Links) -> str:
        """The same for a file's entry (an annotated copy made from it)."""
        return self.file_text(file, links)

    def changed(self) -> tuple[Iterator[Changed], Iterator[Changed]]:
        """The entries that took other links this run, as they are now, with those links:
        the proposals' by key and the files' by file, (name, text, links), in the order
        they changed (a file's proposals together)."""
        return self._changed_in(self._entries, self._changed), self._changed_in(
            self._files, self._changed_files
        )

    def _changed_in(
        self, kept: dict[str, tuple[Any, _Kept, HeldLinks]], changed: dict[str, None]
    ) -> Iterator[Changed]:
        for name in changed:
            _, place, held = kept[name]
            yield name, self._text(place), held


def _relinked(text: str, key: str, links: Any) -> str:
    """A rendered entry with other links (``_WITHOUT``: without the key), changed as data.

    A proposal kept by the state may be loaded without its rule checks; its
    entry holds them, so it is changed rather than made again. An entry that is
    not a JSON object came from a damaged state (the auditor renders none).
    """
    try:
        entry = json.loads(text)
    except ValueError:
        entry = None
    if not isinstance(entry, dict):
        raise StateError(
            "the state file is damaged (a stored results.json entry is not one); "
            "move it aside, or run with --no-state"
        )
    if links is _WITHOUT:
        entry.pop(key, None)
    else:
        entry[key] = links
    return _compact(entry)


def _one_per_line(value: dict[str, Any]) -> str:
    """A section of lists (since_last_run) with one entry per line."""
    parts = []
    for key, item in value.items():
        if isinstance(item, list) and item:
            inner = ",\n".join(f"      {_compact(entry)}" for entry in item)
            parts.append(f"    {json.dumps(key)}: [\n{inner}\n    ]")
        else:
            parts.append(f"    {json.dumps(key)}: {_compact(item)}")
    return "{\n" + ",\n".join(parts) + "\n  }"


def json_lines(
    result: AuditResult, links: Links | None = None, cache: EntryCache | None = None
) -> Iterator[str]:
    """The document in pieces, one entry at a time: written as it is made, it is never
    held whole (ten thousand entries are tens of megabytes)."""
    cache = cache or EntryCache()
    yield "{\n"
    for key, value in _head(result).items():
        if isinstance(value, dict) and any(isinstance(v, list) for v in value.values()):
            yield f"  {json.dumps(key)}: {_one_per_line(value)},\n"
        else:
            yield f"  {json.dumps(key)}: {_compact(value)},\n"
    yield '  "proposals": [\n'
    yield from _entries(cache.text(p, links) for p in result.proposals)
    yield "  ],\n"
    yield '  "files": [\n'
    yield from _entries(cache.file_text(f, links) for f in result.files)
    yield "  ]\n}\n"


def _entries(texts: Iterable[str]) -> Iterator[str]:
    """Entries one to a line, indented, separated by commas."""
    separator = "    "
    for text in texts:
        yield separator + text
        separator = ",\n    "
    if separator != "    ":
        yield "\n"


def render_json(
    result: AuditResult, links: Links | None = None, cache: EntryCache | None = None
) -> str:
    return "".join(json_lines(result, links, cache))


def write_json(result: AuditResult, path: Path, links: Links | None = None) -> None:
    write_atomic(path, render_json(result, links).encode("utf-8"))
