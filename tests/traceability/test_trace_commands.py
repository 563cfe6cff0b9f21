import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from qms.models import AuditEvent
from tests.traceability.engine import baseline_remove, make_run
from traceability.models import Baseline, Release
from traceability.services.items import item_update
from traceability.services.links import link_create
from traceability.services.releases import release_create, release_freeze

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def clean_release(small_graph, product, qm):
    return release_freeze(product=product, version="1.0", actor=qm)


@pytest.fixture
def hostile(small_graph, qm):
    """A title a spreadsheet would run as a formula."""
    item_update(item=small_graph["SRS-1"], actor=qm, title='=HYPERLINK("http://evil.example","click")')
    return small_graph


def test_matrix_as_csv(hostile, product, tmp_path):
    target = tmp_path / "matrix.csv"
    call_command("trace_matrix", "DEMO", "--format", "csv", "-o", str(target), stderr=StringIO())
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark: spreadsheets read UTF-8
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[0][:4] == ["key", "title", "status", "justification"]
    assert rows[1][:3] == ["SRS-1", '\'=HYPERLINK("http://evil.example","click")', "suspect"]
    assert dict(zip(rows[0], rows[1], strict=True))["test_results"] == "TC-1: no result"
    assert run("trace_matrix", "DEMO", "--format", "csv").encode() == target.read_bytes()


def test_every_matrix_format_says_whether_it_is_frozen(small_graph, product, qm, tmp_path):
    release_create(product=product, version="2.0", actor=qm)
    release_freeze(product=product, version="1.0", actor=qm)
    for version, frozen in (("2.0", False), ("1.0", True)):
        marks = {}
        for fmt in ("csv", "json", "html", "xlsx"):
            target, err = tmp_path / f"m-{version}.{fmt}", StringIO()
            call_command("trace_matrix", "DEMO", "--release", version, "--format", fmt, "-o", str(target), stderr=err)
            state = "frozen" if frozen else "not frozen"
            assert err.getvalue().strip() == f"Wrote 1 rows of DEMO {version} ({state}) to {target}"
            marks[fmt] = target
        assert json.loads(marks["json"].read_text())["frozen"] is frozen
        assert ("Not frozen: computed from the live graph" in marks["html"].read_text()) is not frozen
        facts = dict(load_workbook(marks["xlsx"])["Release"].iter_rows(values_only=True))
        assert facts["frozen"] == ("yes" if frozen else "no: computed from the live graph")
        assert marks["csv"].read_text(encoding="utf-8-sig").splitlines()[0].startswith("key,title,status")  # rows only
    err = StringIO()
    call_command("trace_matrix", "DEMO", "--release", "2.0", stdout=StringIO(), stderr=err)  # CSV to stdout
    assert err.getvalue().strip() == "1 rows of DEMO 2.0 (not frozen)"


def test_matrix_as_json_names_the_release_and_whether_it_is_frozen(small_graph, product, qm):
    release_create(product=product, version="2.0", actor=qm)
    draft = json.loads(run("trace_matrix", "DEMO", "--release", "2.0", "--format", "json"))
    assert (draft["release"], draft["frozen"], draft["baseline_sha256"]) == ("2.0", False, None)
    assert [(row["key"], row["status"], row["tests"], row["system_requirements"]) for row in draft["rows"]] == [
        ("SRS-1", "not_verified", ["TC-1"], ["SYS-1"])
    ]
    release_freeze(product=product, version="1.0", actor=qm)
    frozen = json.loads(run("trace_matrix", "DEMO", "--release", "1.0", "--format", "json"))
    sha256 = Baseline.objects.get().sha256
    assert (frozen["release"], frozen["frozen"], frozen["baseline_sha256"]) == ("1.0", True, sha256)
    live = json.loads(run("trace_matrix", "DEMO", "--format", "json", "--root-kind", "system_requirement"))
    assert (live["release"], live["frozen"], [row["key"] for row in live["rows"]]) == (None, False, ["SYS-1"])


def test_exports_of_a_frozen_release_are_byte_identical(hostile, product, qm, tmp_path):
    make_run(product, {"TC-1": "passed"}, version="1.0")
    release_freeze(product=product, version="1.0", actor=qm)
    for fmt in ("csv", "xlsx", "json", "html"):
        first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        for target in (first, second):
            args = ("--release", "1.0", "--format", fmt, "-o", str(target))
            call_command("trace_matrix", "DEMO", *args, stderr=StringIO())
        assert first.read_bytes() == second.read_bytes(), fmt
    item_update(item=hostile["SRS-1"], actor=qm, title="edited after freezing")
    again = tmp_path / "c.json"
    call_command("trace_matrix", "DEMO", "--release", "1.0", "--format", "json", "-o", str(again), stderr=StringIO())
    assert again.read_bytes() == (tmp_path / "a.json").read_bytes()


def test_the_xlsx_has_a_frozen_header_filters_widths_and_colours(hostile, product, qm, tmp_path):
    make_run(product, {"TC-1": "passed"}, version="1.0")
    release_freeze(product=product, version="1.0", actor=qm)
    target = tmp_path / "matrix.xlsx"
    call_command("trace_matrix", "DEMO", "--release", "1.0", "--format", "xlsx", "-o", str(target), stderr=StringIO())
    workbook = load_workbook(target)
    sheet = workbook["Matrix"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:O2"
    assert sheet.column_dimensions["B"].width == 48
    row = [cell.value for cell in sheet[2]]
    # the formula-like title stays text: a text cell with Excel's quote prefix, never a formula
    assert row[:3] == ["SRS-1", '=HYPERLINK("http://evil.example","click")', "suspect"]  # its title changed
    assert sheet["B2"].data_type == "s" and sheet["B2"].quotePrefix
    assert sheet["C2"].fill.fgColor.rgb == "00FFF4D6"
    about = {row[0].value: row[1].value for row in workbook["Release"].iter_rows()}
    assert about["baseline sha256"] == Baseline.objects.get().sha256 and about["frozen"] == "yes"


def test_html_escapes_item_text(hostile, product):
    page = run("trace_matrix", "DEMO", "--format", "html")
    assert "Not frozen: computed from the live graph" in page
    assert 'class="suspect"' in page
    assert "&quot;http://evil.example&quot;" in page and '"http://evil.example"' not in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("trace_matrix", "NOPE"), "no product 'NOPE'"),
        (("trace_matrix", "DEMO", "--release", "9.9"), "DEMO has no release '9.9'"),
        (("trace_matrix", "DEMO", "--format", "xlsx"), "--format xlsx needs -o FILE"),
        (("trace_matrix", "DEMO", "-o", "/nonexistent/dir/m.csv"), "cannot write /nonexistent/dir/m.csv"),
        (("trace_gaps", "NOPE"), "no product 'NOPE'"),
        (("trace_gaps", "DEMO", "--release", "9.9"), "DEMO has no release '9.9'"),
        (("release_freeze", "NOPE", "1.0"), "no product 'NOPE'"),
        (("release_freeze", "DEMO", "1 0"), "version: A version such as"),
        (("release_freeze", "DEMO", "1.0", "--commit", "zz"), "commit_sha: A git commit SHA"),
        (("release_freeze", "DEMO", "live"), "version: 'live' is reserved"),
        (("baseline_diff", "DEMO", "1.0", "live"), "DEMO has no release '1.0'"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(product, args, message):
    before = (Release.objects.count(), AuditEvent.objects.count())
    with pytest.raises(CommandError, match=message.replace(".", r"\.")):
        run(*args)
    assert (Release.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.parametrize("command", ["trace_matrix", "trace_gaps"])
def test_a_frozen_release_without_its_baseline_exits_1(clean_release, command):
    baseline_remove()
    out = StringIO()
    with pytest.raises(CommandError, match=r"DEMO 1\.0 was frozen at .* but its baseline is missing") as raised:
        call_command(command, "DEMO", "--release", "1.0", stdout=out, stderr=StringIO())
    assert raised.value.returncode == 1 and out.getvalue() == ""


def test_trace_gaps_exits_1_on_an_error_level_gap(product, make_item, qm):
    make_item("SRS-1", "software_requirement")
    out = StringIO()
    with pytest.raises(CommandError, match="3 error-level gaps in DEMO") as raised:
        call_command("trace_gaps", "DEMO", stdout=out)
    assert raised.value.returncode == 1
    lines = out.getvalue().splitlines()
    assert lines[0].split(None, 2)[:2] == ["error", "requirement_without_parent"]
    assert lines[-1] == "DEMO (live): 3 errors, 1 warnings"

    out = StringIO()
    with pytest.raises(CommandError):
        call_command("trace_gaps", "DEMO", "--format", "json", stdout=out)
    findings = json.loads(out.getvalue())
    assert [(f["rule"], f["severity"], f["items"]) for f in findings] == [
        ("requirement_without_parent", "error", ["SRS-1"]),
        ("requirement_without_verification", "error", ["SRS-1"]),
        ("requirement_without_architecture", "error", ["SRS-1"]),
        ("item_not_approved", "warning", ["SRS-1"]),
    ]


def test_trace_gaps_exits_0_without_errors(product, make_item, qm):
    make_item("DOC-1", "document")
    out = run("trace_gaps", "DEMO", "--format", "json")
    assert [f["rule"] for f in json.loads(out)] == ["item_not_approved"]


def test_release_freeze_and_baseline_diff_commands(small_graph, product, qm):
    out = run("release_freeze", "DEMO", "1.0", "--commit", "abc1234", "--tag", "v1.0", "--as", "quinn")
    baseline = Baseline.objects.get()
    assert out.strip() == f"Froze DEMO 1.0: baseline sha256 {baseline.sha256} (6 items, 5 links, 0 results)"
    release = Release.objects.get()
    assert (release.state, release.commit_sha, release.git_tag, release.created_by) == ("frozen", "abc1234", "v1.0", qm)
    before = AuditEvent.objects.count()
    with pytest.raises(CommandError, match=r"DEMO 1\.0 is already frozen"):
        run("release_freeze", "DEMO", "1.0")
    assert AuditEvent.objects.count() == before

    link_create(source=small_graph["TC-1"], target=small_graph["SYS-1"], link_type="verifies", actor=qm)
    text = run("baseline_diff", "DEMO", "1.0", "live")
    assert text == "Changes from 1.0 to live\n\nLinks added (1):\n+ TC-1 verifies SYS-1\n"
    data = json.loads(run("baseline_diff", "DEMO", "1.0", "live", "--format", "json"))
    assert data["links_added"] == ["TC-1 verifies SYS-1"] and data["before_sha256"] == baseline.sha256
    run("release_freeze", "DEMO", "1.1")
    assert json.loads(run("baseline_diff", "DEMO", "1.0", "1.1", "--format", "json"))["counts"]["links_added"] == 1
