"""Reading JUnit XML as the real tools write it: pytest, Maven Surefire, ctest ``--output-junit``,
jest-junit and go-junit-report.

The XML is parsed with defusedxml: a DTD, an entity declaration (entity expansion, external
entities), an encoding Python does not know or a file over ``EVIDENCE_MAX_UPLOAD_BYTES`` is
refused with the reason, before anything is stored. The root is ``<testsuites>`` or a bare
``<testsuite>``; suites may nest, up to ``SUITE_MAX_DEPTH`` levels (990 nested suites are a
refusal, not a ``RecursionError``). XML itself cannot carry a NUL character or a lone surrogate
(not even as ``&#0;``): expat refuses both as not well-formed.

Each ``<testcase>`` becomes a :class:`CaseInput` (``title`` is the test name; ``requirement_keys``
come from a ``requirements`` property; ``texts`` are searched for keys) with a stable identifier
(docs/ci-integration.md):

=============  ==========================================================================
flavour        identifier
=============  ==========================================================================
pytest         the pytest node id, ``tests/test_dose.py::TestRound::test_down[1]``
               (from ``file`` when present, else from ``classname``: the dotted parts up
               to the last test module, ``test_*`` / ``*_test``, are the module path)
jest-junit     ``file::name`` when jest-junit writes the ``file`` attribute
               (``addFileAttribute``), else ``name``
others         ``classname.name`` (Surefire ``com.acme.DoseTest.roundsDown``, go
               ``github.com/acme/dose.TestRound/SRS-012_down``), or ``name`` alone when
               ``classname`` is empty or equal to ``name`` (ctest, jest-junit)
=============  ==========================================================================
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring
from django.conf import settings

from qms.errors import InvalidInput
from traceability.graph.model import without_gc
from traceability.models import ResultStatus
from traceability.models.evidence import STATUS_SEVERITY
from traceability.services.evidence.inputs import CaseInput
from traceability.services.evidence.references import keys_listed

MESSAGE_LIMIT = 2_000
OUTPUT_LIMIT = 8_000
IDENTIFIER_LIMIT = 500
SUITE_MAX_DEPTH = 50  # real reports nest two or three <testsuite> levels
BODY_SEARCH_LIMIT = 4_096  # of a failure / error / skipped element's text, searched for requirement keys
REQUIREMENT_PROPERTIES = frozenset({"requirements", "requirement"})
TEXT_PROPERTIES = frozenset({"docstring", "description"})
CTEST_STATUSES = frozenset({"run", "fail", "notrun", "disabled"})
RERUN_ELEMENTS = frozenset({"flakyFailure", "flakyError", "rerunFailure", "rerunError"})
OUTCOME_ELEMENTS = {"failure": ResultStatus.FAILED, "error": ResultStatus.ERROR, "skipped": ResultStatus.SKIPPED}


class XmlRefused(InvalidInput):
    code = "xml_refused"


@dataclass
class JunitFile:
    source: str
    flavour: str
    cases: list[CaseInput]
    started_at: datetime | None
    finished_at: datetime | None


def upload_size_check(size: int, source: str) -> None:
    limit = settings.EVIDENCE_MAX_UPLOAD_BYTES
    if size > limit:
        raise InvalidInput(
            f"{source}: {size} bytes is over the upload limit of {limit} bytes (EVIDENCE_MAX_UPLOAD_MB)",
            code="too_large",
            file=source,
        )


def _refusal(data: bytes, source: str, dtd: DTDForbidden) -> XmlRefused:
    """Say precisely why a document with a DTD is refused: entity declarations are named."""
    try:
        fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except EntitiesForbidden as exc:
        if exc.sysid or exc.pubid:
            reason = f"external entity '{exc.name}' ({exc.sysid or exc.pubid}) is refused"
        else:
            reason = f"entity declaration '{exc.name}' is refused (entity expansion)"
        return XmlRefused(f"{source}: {reason}", file=source)
    except (ExternalReferenceForbidden, ParseError, ValueError):
        pass
    where = f" ({dtd.sysid})" if dtd.sysid else ""
    return XmlRefused(f"{source}: a DTD (<!DOCTYPE {dtd.name}>{where}) is refused", file=source)


def xml_parse(data: bytes, *, source: str) -> Element:
    """Parse untrusted XML safely, or raise InvalidInput with the reason."""
    upload_size_check(len(data), source)
    if not data.strip():
        raise InvalidInput(f"{source}: the file is empty", file=source)
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden as exc:
        raise _refusal(data, source, exc) from exc
    except EntitiesForbidden as exc:
        raise XmlRefused(f"{source}: entity declaration '{exc.name}' is refused", file=source) from exc
    except ExternalReferenceForbidden as exc:
        raise XmlRefused(f"{source}: external reference {exc.sysid!r} is refused", file=source) from exc
    except ParseError as exc:
        raise InvalidInput(f"{source}: not well-formed XML ({exc})", code="xml_invalid", file=source) from exc
    except ValueError as exc:
        raise InvalidInput(f"{source}: cannot be read as XML ({exc})", code="xml_invalid", file=source) from exc
    except LookupError as exc:  # <?xml encoding="…"?> names an encoding Python does not know
        raise InvalidInput(
            f"{source}: the XML declaration names an encoding that cannot be read ({exc}); write UTF-8",
            code="xml_invalid",
            file=source,
        ) from exc


def _tag(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _properties(element: Element) -> list[tuple[str, str]]:
    found = []
    for child in element:
        if _tag(child) != "properties":
            continue
        for prop in child:
            if _tag(prop) == "property" and prop.get("name"):
                value = prop.get("value")
                found.append((str(prop.get("name")), value if value is not None else (prop.text or "")))
    return found


def _suites(root: Element) -> list[Element]:
    return [root] if _tag(root) == "testsuite" else [el for el in root.iter() if _tag(el) == "testsuite"]


def flavour_of(root: Element) -> str:
    """Which tool wrote the file: pytest, surefire, ctest, jest, go or junit (anything else)."""
    if root.get("name") == "jest tests":
        return "jest"
    if root.get("name") == "pytest tests":
        return "pytest"
    suites = _suites(root)
    if any(suite.get("name") == "pytest" for suite in suites):
        return "pytest"
    if any("surefire" in value for value in root.attrib.values()):
        return "surefire"
    names = {name for suite in suites for name, _ in _properties(suite)}
    if "go.version" in names:
        return "go"
    if any(name.startswith(("java.", "surefire.", "maven.")) for name in names):
        return "surefire"
    if any(el.get("status") in CTEST_STATUSES for el in root.iter() if _tag(el) == "testcase"):
        return "ctest"
    return "junit"


def pytest_node_id(classname: str, name: str, file: str | None = None) -> str:
    """``tests.test_dose.TestRound`` + ``test_down`` → ``tests/test_dose.py::TestRound::test_down``."""
    if not classname:
        return name
    return f"{_pytest_node_prefix(classname, file)}::{name}"


@lru_cache(maxsize=4096)
def _pytest_node_prefix(classname: str, file: str | None) -> str:
    """The node id's module path and classes (a file holds many tests of the same classes)."""
    parts = classname.split(".")
    if file and file.endswith(".py"):
        module = file[:-3].replace("\\", "/").split("/")
        path, classes = file.replace("\\", "/"), parts[len(module) :] if parts[: len(module)] == module else []
    else:
        # pytest's classname is the module's dotted path, then the class chain (python_classes:
        # Test*). Folders may be capitalised (tests.API.test_x): the classes start after the last
        # part named like a test module (test_* / *_test), at the first Test* part (else the first
        # capitalised one); without any, the whole classname is the module.
        modules = [i for i, part in enumerate(parts) if part.startswith("test") or part.endswith("_test")]
        after = modules[-1] + 1 if modules else 0
        rest = range(after, len(parts))
        end = next((i for i in rest if parts[i].startswith("Test")), None)
        if end is None:
            end = next((i for i in rest if parts[i][:1].isupper()), len(parts))
        path, classes = "/".join(parts[:end]) + ".py", parts[end:]
    return "::".join([path, *classes])


def case_identifier(flavour: str, classname: str, name: str, file: str | None = None) -> str:
    if flavour == "pytest":
        identifier = pytest_node_id(classname, name, file)
    elif flavour == "jest" and file:
        identifier = f"{file.replace(chr(92), '/')}::{name}"  # jest-junit addFileAttribute: names differ by file
    elif not classname or classname == name:
        identifier = name
    else:
        identifier = f"{classname}.{name}"
    return identifier[:IDENTIFIER_LIMIT]


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value.replace(",", ""))  # Surefire writes 1,234.5 in some locales
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _timestamp(value: str | None) -> datetime | None:
    """ISO 8601; a time without zone (pytest, jest-junit, ctest write local or UTC) is taken as UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _clip(text: str | None, limit: int) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _case(element: Element, flavour: str, inherited_keys: list[str]) -> CaseInput:
    """One ``<testcase>``, its children read in a single pass (10,000 of them in a CI report)."""
    get = element.get
    name = get("name") or ""
    classname = get("classname") or ""
    status = ResultStatus.PASSED
    message = ""
    details: list[str] = []
    output: list[str] = []
    bodies: list[str] = []
    keys = inherited_keys
    described: list[str] = []
    reruns = 0
    for child in element:
        tag = child.tag
        if tag.__class__ is not str:
            continue
        if tag[:1] == "{":
            tag = tag.rsplit("}", 1)[-1]
        if tag == "properties":
            for prop in child:
                prop_name = prop.get("name")
                if not prop_name or _tag(prop) != "property":
                    continue
                value = prop.get("value")
                value = value if value is not None else (prop.text or "")
                lowered = prop_name.lower()
                if lowered in REQUIREMENT_PROPERTIES:
                    keys = [*keys, *keys_listed(value)]
                elif lowered in TEXT_PROPERTIES:
                    described.append(value)
            continue
        kind = OUTCOME_ELEMENTS.get(tag)
        if kind is not None:
            text = (child.text or "").strip()
            if text:
                bodies.append(text[:BODY_SEARCH_LIMIT])  # go-junit-report: message="Failed", the text says why
            if STATUS_SEVERITY[kind] > STATUS_SEVERITY[status]:
                status = kind
                message = child.get("message") or (text.splitlines()[0] if text else "")
                if text:
                    details.insert(0, text)
        elif tag in RERUN_ELEMENTS:
            reruns += 1
        elif tag in ("system-out", "system-err") and (child.text or "").strip():
            output.append(f"--- {tag} ---\n{child.text.strip() if child.text else ''}")
    ctest_status = get("status")
    if flavour == "ctest" and ctest_status in ("notrun", "disabled") and status == ResultStatus.PASSED:
        status, message = ResultStatus.SKIPPED, message or ctest_status
    if reruns and status == ResultStatus.PASSED:
        message = f"flaky: passed after {reruns} failed attempt(s)"
    texts = [name, *described]
    if message:
        texts.append(message)
    texts.extend(bodies)
    details.extend(output)
    return CaseInput(
        identifier=case_identifier(flavour, classname, name, get("file")),
        title=name,
        status=status,
        duration=_seconds(get("time")),
        message=_clip(message, MESSAGE_LIMIT),
        output=_clip("\n".join(details), OUTPUT_LIMIT) if details else "",
        requirement_keys=list(dict.fromkeys(keys)) if keys else [],
        texts=texts,
    )


def _walk(
    suite: Element,
    flavour: str,
    inherited: list[str],
    cases: list[CaseInput],
    times: list[Any],
    source: str,
    depth: int,
) -> None:
    if depth > SUITE_MAX_DEPTH:
        raise InvalidInput(
            f"{source}: <testsuite> elements nested more than {SUITE_MAX_DEPTH} levels deep",
            code="junit_invalid",
            file=source,
        )
    keys = list(inherited)
    for prop, value in _properties(suite):
        if prop.lower() in REQUIREMENT_PROPERTIES:
            keys.extend(keys_listed(value))
    started = _timestamp(suite.get("timestamp"))
    if started is not None:
        times.append((started, started + timedelta(seconds=_seconds(suite.get("time")) or 0)))
    for child in suite:
        tag = _tag(child)
        if tag == "testsuite":
            _walk(child, flavour, keys, cases, times, source, depth + 1)
        elif tag == "testcase":
            cases.append(_case(child, flavour, keys))


@without_gc  # tens of thousands of elements and cases, no reference cycles
def junit_parse(data: bytes, *, source: str = "upload") -> JunitFile:
    """Read one JUnit XML document into cases; raise InvalidInput naming the file and the problem."""
    root = xml_parse(data, source=source)
    tag = _tag(root)
    if tag not in ("testsuites", "testsuite"):
        raise InvalidInput(
            f"{source}: the root element must be <testsuites> or <testsuite>, not <{tag}>",
            code="junit_invalid",
            file=source,
        )
    flavour = flavour_of(root)
    cases: list[CaseInput] = []
    times: list[tuple[datetime, datetime]] = []
    if tag == "testsuite":
        _walk(root, flavour, [], cases, times, source, 1)
    else:
        for child in root:
            if _tag(child) == "testsuite":
                _walk(child, flavour, [], cases, times, source, 1)
            elif _tag(child) == "testcase":
                cases.append(_case(child, flavour, []))
    return JunitFile(
        source=source,
        flavour=flavour,
        cases=cases,
        started_at=min((start for start, _ in times), default=None),
        finished_at=max((end for _, end in times), default=None),
    )
