"""Draft letters to the coordinators of ineligible proposals (letters/<proposal>.docx).

A letter is a Word document made from a template holding jinja2 tags
(docxtpl): the auditor's own, in English or Dutch (``letter_template``), or
one an agency writes on its letterhead (``--letter-template``). The officer
opens the draft, edits it and sends it. Templates are rendered in jinja2's
sandbox with every value escaped, so neither a template nor a workbook's
text can run code or break the document.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from auditor.core.catalogue import catalogue
from auditor.core.errors import OutputError
from auditor.core.findings import Severity
from auditor.core.results import ProposalResult
from auditor.report.i18n import BRUSSELS, LOCALES, t
from auditor.report.params_text import public_source
from auditor.report.requirements import requirement_line

# Characters XML 1.0 does not allow: a workbook may hold them; a letter may not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# An agency's template is a Word document of a few pages, not a bomb.
MAX_TEMPLATE_BYTES = 20_000_000
MAX_TEMPLATE_INFLATED = 100_000_000
# Compiled template parts a process keeps (a letter has a handful).
MAX_COMPILED = 64


@dataclass(frozen=True)
class Ground:
    """One reason the proposal is ineligible: an error finding, as the letter says it."""

    number: int
    code: str
    rule: str
    criterion: str  # what the rule asks ("At least 3 organisations counted")
    found: str  # the finding's message
    sheet: str
    cell: str
    location: str  # Sheet!Cell
    source: str


@dataclass(frozen=True)
class Addressee:
    organisation: str
    city: str
    country: str
    oid: str
    pic: str


@dataclass(frozen=True)
class LetterContext:
    """What a letter template is given (its tags name these fields)."""

    lang: str
    date: str
    proposal_id: str
    acronym: str
    title: str
    action: str
    action_title: str
    call_year: str
    file: str
    coordinator: Addressee
    grounds: list[Ground] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = _clean(asdict(self))
        return cleaned


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _country(code: str, lang: str) -> str:
    from babel import Locale

    name = Locale.parse(LOCALES.get(lang, "en_GB")).territories.get(code.upper())
    return str(name) if name else code


def letter_context(
    proposal: ProposalResult,
    partners: list[tuple[int, bool, dict[str, str | None]]],
    lang: str,
    action_title: str | None,
    started_at: str,
) -> LetterContext:
    """The letter of ``proposal`` (its partner rows give the coordinator)."""
    from babel.dates import format_date

    rules = catalogue()
    checks = {check.rule: check for check in proposal.checks}
    grounds: list[Ground] = []
    for finding in proposal.findings:
        if finding.severity is not Severity.ERROR:
            continue
        known = finding.rule in rules.rules
        check = checks.get(finding.rule)
        if check is not None:
            criterion = requirement_line(check, lang)
        else:
            criterion = rules[finding.rule].text("title", lang) if known else finding.rule
        grounds.append(
            Ground(
                number=len(grounds) + 1,
                code=finding.code,
                rule=finding.rule,
                criterion=criterion,
                found=finding.message,
                sheet=finding.sheet or "",
                cell=finding.address or "",
                location=finding.location,
                source=public_source(check.source if check else None),
            )
        )
    coordinator = next(
        (values for _, _, values in partners if values.get("role") == "coordinator"), {}
    )
    try:
        day = datetime.fromisoformat(started_at).astimezone(ZoneInfo(BRUSSELS))
    except ValueError:
        day = datetime.now(ZoneInfo(BRUSSELS))
    return LetterContext(
        lang=lang,
        date=format_date(day, "long", locale=LOCALES.get(lang, "en_GB")),
        proposal_id=proposal.proposal_id,
        acronym=_text(proposal.acronym),
        title=_text(proposal.title),
        action=_text(proposal.action),
        action_title=_text(action_title),
        call_year=_text(proposal.call_year),
        file=proposal.relative or proposal.file,
        coordinator=Addressee(
            organisation=_text(coordinator.get("organisation_name")),
            city=_text(coordinator.get("city")),
            country=_country(_text(coordinator.get("country")), lang),
            oid=_text(coordinator.get("oid")),
            pic=_text(coordinator.get("pic")),
        ),
        grounds=grounds,
    )


@cache
def _environment() -> Any:
    """The sandbox every letter of this process is rendered in.

    docxtpl hands it each part of the document (body, headers, properties)
    as a template source; every letter of a run has the same parts, so each
    is compiled once, not once a letter (compiling was a third of a letter's
    time).
    """
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

    class Compiled(SandboxedEnvironment):
        def from_string(
            self, source: Any, globals: Any = None, template_class: Any = None
        ) -> Template:
            if not isinstance(source, str) or globals or template_class:
                return super().from_string(source, globals, template_class)
            known = compiled.get(source)
            if known is None:
                if len(compiled) >= MAX_COMPILED:  # templates of many agencies: start afresh
                    compiled.clear()
                known = compiled[source] = super().from_string(source)
            return known

    compiled: dict[str, Template] = {}
    # autoescape: a workbook's "<" or "&" stays text in the document's XML.
    return Compiled(autoescape=True)


def render_letter(template: bytes, context: LetterContext) -> bytes:
    """The letter as a .docx."""
    from docxtpl import DocxTemplate  # type: ignore[import-untyped]

    document = DocxTemplate(io.BytesIO(template))
    document.render(context.as_dict(), jinja_env=_environment(), autoescape=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def read_template(path: Path) -> bytes:
    """An agency's letter template, checked: a Word document of sane size that renders.

    Raises OutputError saying what is wrong, before any work is done.
    """
    try:
        data = path.read_bytes() if path.stat().st_size <= MAX_TEMPLATE_BYTES else None
    except OSError as error:
        raise OutputError(f"--letter-template {path}: {error.strerror or error}") from error
    if data is None:
        raise OutputError(
            f"--letter-template {path}: larger than {MAX_TEMPLATE_BYTES // 1_000_000} MB"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            inflated = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as error:
        raise OutputError(f"--letter-template {path}: not a Word document (.docx)") from error
    if "word/document.xml" not in names:
        raise OutputError(f"--letter-template {path}: not a Word document (.docx)")
    if inflated > MAX_TEMPLATE_INFLATED:
        raise OutputError(f"--letter-template {path}: its contents are too large to open")
    try:
        render_letter(data, sample_context("en"))
    except Exception as error:  # the template's own mistake, told before the run
        raise OutputError(f"--letter-template {path}: {error}") from error
    return data


def sample_context(lang: str) -> LetterContext:
    """A letter's context with every field filled, to try a template on."""
    return LetterContext(
        lang=lang,
        date="1 January 2027",
        proposal_id="2027-1-NL01-KA220-SCH-000000001",
        acronym="SAMPLE",
        title="A sample proposal",
        action="KA220-SCH",
        action_title="Cooperation partnerships in school education",
        call_year="2027",
        file="sample.xlsx",
        coordinator=Addressee("Sample school", "Utrecht", "Netherlands", "E10000000", "900000000"),
        grounds=[
            Ground(
                1,
                "ELG101",
                "min-organisations",
                "At least 3 organisations",
                "2 found",
                "Partners",
                "B1",
                "Partners!B1",
                "Programme Guide",
            )
        ],
    )


@cache
def letter_template(lang: str) -> bytes:
    """The auditor's own letter template in ``lang`` (a .docx with jinja2 tags)."""
    from docx import Document
    from docx.shared import Cm, Pt

    def say(key: str) -> str:
        return t(f"letter.{key}", lang)

    document = Document()
    for section in document.sections:  # A4 with 2 cm margins: the table's 17 cm fit
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        section.left_margin = section.right_margin = Cm(2.0)
    style = document.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(11)
    for line in (
        "{{ coordinator.organisation }}",
        "{% if coordinator.city %}{{ coordinator.city }}, {% endif %}{{ coordinator.country }}",
        "OID {{ coordinator.oid }}",
    ):
        document.add_paragraph(line)
    document.add_paragraph("{{ date }}")
    heading = document.add_paragraph()
    heading.add_run(say("subject")).bold = True
    document.add_paragraph(say("opening"))
    document.add_paragraph(say("received"))
    document.add_paragraph(say("grounds"))
    table = document.add_table(rows=4, cols=5)
    table.style = "Table Grid"
    table.autofit = False
    for column, width in zip(table.columns, (1.0, 4.5, 6.5, 2.5, 2.5), strict=True):
        column.width = Cm(width)  # the grid (LibreOffice) and each cell (Word)
        for cell in column.cells:
            cell.width = Cm(width)
    for cell, key in zip(
        table.rows[0].cells, ("number", "criterion", "found", "cell", "source"), strict=True
    ):
        cell.paragraphs[0].add_run(say(f"column.{key}")).bold = True
    table.rows[1].cells[0].text = "{%tr for g in grounds %}"
    for cell, value in zip(
        table.rows[2].cells,
        (
            "{{ g.number }}",
            "{{ g.criterion }} ({{ g.code }})",
            "{{ g.found }}",
            "{{ g.location }}",
            "{{ g.source }}",
        ),
        strict=True,
    ):
        cell.text = value
    table.rows[3].cells[0].text = "{%tr endfor %}"
    for key in ("cells", "consequence", "mistake", "closing"):
        document.add_paragraph(say(key))
    document.add_paragraph(say("signature"))
    _lean(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _lean(document: Any) -> None:
    """Leave out of our template what python-docx's blank document carries and no letter
    uses: styles no paragraph, run or table refers to (and Word's list of hidden
    ones), Word 2010's copy of the styles with effects, and the thumbnail.

    They were 800 KB of XML that every letter parsed, wrote and compressed
    again: a letter took three times as long and was three times the size.
    The letter looks the same (LibreOffice renders both to the same pixels);
    Word adds a built-in style's definition when an agency's editor applies it.
    """
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml.ns import qn

    referring = ("w:pStyle", "w:rStyle", "w:tblStyle", "w:numStyleLink", "w:styleLink")
    wanted = {
        element.get(qn("w:val")) for tag in referring for element in document.element.iter(qn(tag))
    }
    styles = document.styles.element
    by_id = {style.get(qn("w:styleId")): style for style in styles.iter(qn("w:style"))}
    wanted |= {key for key, style in by_id.items() if style.get(qn("w:default")) in ("1", "true")}
    pending = list(wanted)
    while pending:  # and the styles those are based on, followed by or linked to
        style = by_id.get(pending.pop())
        for tag in ("w:basedOn", "w:next", "w:link"):
            element = None if style is None else style.find(qn(tag))
            if element is not None and element.get(qn("w:val")) not in wanted:
                wanted.add(element.get(qn("w:val")))
                pending.append(element.get(qn("w:val")))
    for key, style in by_id.items():
        if key not in wanted:
            styles.remove(style)
    for hidden in styles.findall(qn("w:latentStyles")):
        styles.remove(hidden)
    part = document.part
    for key, relation in list(part.rels.items()):
        if relation.reltype.endswith("/stylesWithEffects"):
            part.rels.pop(key)
    for key, relation in list(part.package.rels.items()):
        if relation.reltype == RELATIONSHIP_TYPE.THUMBNAIL:
            part.package.rels.pop(key)
