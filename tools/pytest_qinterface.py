"""pytest plugin: ``@pytest.mark.requirement("SRS-012")`` links a test to requirements in JUnit XML.

Every test marked with ``requirement`` gets the JUnit property ``requirements`` (comma-separated
keys, what ``record_property("requirements", ...)`` writes), and every test with a docstring gets
the property ``docstring``; Q-interface reads both when the XML is uploaded (docs/ci-integration.md)::

    @pytest.mark.requirement("SRS-012")
    @pytest.mark.requirement("SRS-013", "RC-004")   # several keys, several markers: all count
    def test_bolus_is_rounded_down():
        "Verifies SRS-012: doses are rounded down to 0.05 U."

Use it with ``pytest -p pytest_qinterface --junitxml=report.xml`` (this file on the Python path)
or ``pytest_plugins = ["pytest_qinterface"]`` in a conftest.py. It depends on pytest only, so a
team can copy this one file into its repository.
"""

from __future__ import annotations

import pytest

DOCSTRING_LIMIT = 1000


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(*keys): requirement keys this test verifies (written to the JUnit XML)"
    )


def requirement_keys(item: pytest.Item) -> list[str]:
    """Keys of every ``requirement`` marker on the test, its class and its module, in order, without repeats."""
    keys: list[str] = []
    for marker in reversed(list(item.iter_markers("requirement"))):
        for value in marker.args:
            if not isinstance(value, str):
                raise TypeError(f"{item.nodeid}: @pytest.mark.requirement takes keys as text, got {value!r}")
            keys.extend(part.strip() for part in value.split(",") if part.strip())
    return list(dict.fromkeys(keys))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    keys = requirement_keys(item)
    if keys and not any(name == "requirements" for name, _ in item.user_properties):
        item.user_properties.append(("requirements", ",".join(keys)))
    function = getattr(item, "function", None)
    doc = (getattr(function, "__doc__", None) or "").strip()
    if doc and not any(name == "docstring" for name, _ in item.user_properties):
        item.user_properties.append(("docstring", " ".join(doc.split())[:DOCSTRING_LIMIT]))
