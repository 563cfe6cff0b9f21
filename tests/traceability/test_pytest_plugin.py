"""The shipped pytest plugin and commit-msg hook, run as a team would run them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import token_client
from traceability.models import Link
from traceability.services.evidence import junit_ingest, run_input_clean
from traceability.services.evidence.junit import junit_parse

TOOLS = Path(settings.BASE_DIR) / "tools"
HOOK = TOOLS / "hooks" / "commit-msg"

SAMPLE_TESTS = '''
import pytest

pytestmark = pytest.mark.requirement("SYS-1")


@pytest.mark.requirement("SRS-1")
def test_round():
    """Doses are rounded down (RC-1)."""


@pytest.mark.requirement("SRS-1, SRS-2")
@pytest.mark.requirement("SRS-3")
def test_many():
    assert False


def test_module_marker_only():
    pass
'''


def run_pytest_with_plugin(tmp_path: Path) -> bytes:
    (tmp_path / "test_sample.py").write_text(SAMPLE_TESTS)
    report = tmp_path / "report.xml"
    env = {**os.environ, "PYTHONPATH": str(TOOLS)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(  # noqa: S603 - this interpreter running pytest on a generated file
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "pytest_qinterface",
            "-p",
            "no:django",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "--strict-markers",
            "-q",
            f"--junitxml={report}",
            "test_sample.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=False,
        timeout=120,
    )
    return report.read_bytes()


@pytest.mark.requirement("QI-409")
def test_the_marker_puts_requirements_into_the_junit_xml(tmp_path):
    junit = junit_parse(run_pytest_with_plugin(tmp_path), source="report.xml")
    assert junit.flavour == "pytest"
    assert [(c.identifier, c.status, c.requirement_keys) for c in junit.cases] == [
        ("test_sample.py::test_round", "passed", ["SYS-1", "SRS-1"]),
        ("test_sample.py::test_many", "failed", ["SYS-1", "SRS-1", "SRS-2", "SRS-3"]),
        ("test_sample.py::test_module_marker_only", "passed", ["SYS-1"]),
    ]
    assert "Doses are rounded down (RC-1)." in junit.cases[0].texts


@pytest.mark.requirement("QI-409")
@pytest.mark.django_db
def test_plugin_output_links_tests_to_requirements(tmp_path, small_graph, developer):
    xml = run_pytest_with_plugin(tmp_path)
    report = junit_ingest(
        product=small_graph["SRS-1"].product,
        files=[("report.xml", xml)],
        run=run_input_clean(version="1.0.0"),
        actor=developer,
    )
    assert report.summary()["linked"] == 3
    round_links = Link.objects.filter(source__attributes__test_id="test_sample.py::test_round")
    assert sorted(round_links.values_list("target__key", flat=True)) == ["RC-1", "SRS-1", "SYS-1"]


@pytest.mark.requirement("QI-409")
def test_this_project_dogfoods_the_marker(request):
    """The project's own tests carry the marker; tests/conftest.py loads the plugin."""
    assert request.config.pluginmanager.has_plugin("tools.pytest_qinterface")
    assert ("requirements", "QI-409") in request.node.user_properties
    assert ("docstring", "The project's own tests carry the marker; tests/conftest.py loads the plugin.") in (
        request.node.user_properties
    )


def run_hook(tmp_path: Path, message: str, **env: str) -> subprocess.CompletedProcess:
    path = tmp_path / "COMMIT_EDITMSG"
    path.write_text(message)
    full_env = {key: value for key, value in os.environ.items() if not key.startswith("QI_")}
    full_env.update(env, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(  # noqa: S603 - the project's own hook script
        [sys.executable, str(HOOK), str(path)], capture_output=True, text=True, env=full_env, cwd=tmp_path, check=False
    )


@pytest.mark.requirement("QI-410")
@pytest.mark.parametrize(
    ("message", "env", "code", "warns"),
    [
        ("Round doses down\n\nImplements: SRS-012\n", {}, 0, False),
        ("Tidy up\n# Implements: SRS-012 (a comment)\n", {}, 0, True),
        ("Tidy up\n", {"QI_HOOK_STRICT": "1"}, 1, True),
        ("Fixes ANOM-3\n", {"QI_KEY_PATTERN": r"(SRS|SYS)-\d{3}"}, 0, True),
        ("Merge branch 'main' into feature\n", {"QI_HOOK_STRICT": "1"}, 0, False),
    ],
)
def test_commit_msg_hook_warns_without_a_key(tmp_path, message, env, code, warns):
    done = run_hook(tmp_path, message, **env)
    assert done.returncode == code
    assert ("names no known item key" in done.stderr) is warns


@pytest.mark.requirement("QI-410")
# The live server needs committed data; serialized_rollback restores the migrations' rows after.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_commit_msg_hook_asks_the_server_which_keys_exist(tmp_path, live_server, small_graph, developer):
    client = token_client(developer, [])
    token = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    env = {"QI_URL": live_server.url, "QI_TOKEN": token, "QI_PRODUCT": "DEMO", "QI_HOOK_STRICT": "1"}
    known = run_hook(tmp_path, "Round doses down\n\nImplements: SRS-1\n", **env)
    assert (known.returncode, known.stderr) == (0, "")
    unknown = run_hook(tmp_path, "Round doses down\n\nImplements: SRS-999\n", **env)
    assert unknown.returncode == 1
    assert unknown.stderr.splitlines()[0] == "commit-msg: SRS-999 is not an item of DEMO"
    assert "names no known item key" in unknown.stderr
