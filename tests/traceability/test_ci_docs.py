"""The CI recipes of docs/ci-integration.md stay valid YAML whose embedded Python compiles.

(They were also run end to end against a local server; see the docs. This guards the parts a
later edit most easily breaks: YAML folding and the indentation of the embedded Python.)
"""

import re
from pathlib import Path

import pytest
import yaml

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ci-integration.md").read_text()


def recipe(title: str) -> dict:
    part = DOC[DOC.index(title) :]
    match = re.search(r"```yaml\n(.*?)\n```", part, re.S)
    assert match is not None
    return yaml.safe_load(match.group(1))


def embedded_python(script: str) -> str:
    match = re.search(r"python3 -c '(.*?)'", script, re.S)
    assert match is not None, script
    return match.group(1)


def github_steps() -> dict[str, str]:
    jobs = recipe("### GitHub Actions")["jobs"]
    return {step["name"]: step["run"] for job in jobs.values() for step in job["steps"] if "name" in step}


def gitlab_scripts() -> dict[str, str]:
    jobs = recipe("### GitLab CI")
    return {
        "upload": "\n".join(jobs["test"]["after_script"]),
        "commits": "\n".join(jobs["commits"]["script"]),
        "ready": "\n".join(jobs["release-ready"]["script"]),
    }


@pytest.mark.parametrize(
    "script",
    [
        github_steps()["Post commits"],
        github_steps()["Is the release ready?"],
        gitlab_scripts()["commits"],
        gitlab_scripts()["ready"],
    ],
)
def test_the_python_embedded_in_a_recipe_compiles(script):
    compile(embedded_python(script), "<recipe>", "exec")


def test_both_ci_systems_have_the_three_recipes():
    steps = github_steps()
    assert "/junit/?commit=" in steps["Upload test evidence"]
    assert "/commits/" in steps["Post commits"]
    assert "/status/" in steps["Is the release ready?"]
    scripts = gitlab_scripts()
    assert "/junit/?commit=" in scripts["upload"]
    assert "/commits/" in scripts["commits"]
    assert "/status/" in scripts["ready"]
