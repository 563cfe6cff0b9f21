"""Read commits from a local git repository with ``git log`` (a subprocess, never a shell)."""

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from qms.errors import InvalidInput
from traceability.services.evidence.commits import CommitInput, commit_inputs_parse

FIELD, RECORD = "\x1f", "\x1e"
LOG_FORMAT = "%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%B%x1e"
# Revisions and ranges: v1.0.0..HEAD, main...feature, HEAD~20.., a SHA. Never an option.
REV_RANGE = re.compile(r"^[A-Za-z0-9_./@{}^~+-]+(?:\.\.\.?[A-Za-z0-9_./@{}^~+-]*)?$")
GIT_TIMEOUT = 600


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed program, arguments are validated, no shell
            ["git", "-C", str(repo), *args],  # noqa: S607 - git from PATH, like a developer's shell
            capture_output=True,
            check=False,
            timeout=GIT_TIMEOUT,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except FileNotFoundError as exc:
        raise InvalidInput("git is not installed (no 'git' on PATH)", code="git_failed") from exc
    except subprocess.TimeoutExpired as exc:
        raise InvalidInput(f"git {args[0]} took longer than {GIT_TIMEOUT} s", code="git_failed") from exc
    if done.returncode != 0:
        problem = done.stderr.decode(errors="replace").strip().splitlines()
        raise InvalidInput(
            f"git {args[0]} failed in {repo}: {problem[0] if problem else f'exit {done.returncode}'}",
            code="git_failed",
        )
    return done.stdout.decode("utf-8", errors="replace")


def repository_name(repo: Path) -> str:
    """The ``origin`` remote without credentials, or the folder name."""
    try:
        url = _git(repo, "config", "--get", "remote.origin.url").strip()
    except InvalidInput:
        url = ""
    if not url:
        return repo.resolve().name
    parts = urlsplit(url)
    if parts.scheme and parts.hostname:
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    return url


def git_log_read(
    *, repo: Path, rev_range: str | None = None, max_count: int | None = None, repository: str | None = None
) -> list[CommitInput]:
    """Commits of a local repository, newest first, as a validated batch."""
    if not repo.is_dir():
        raise InvalidInput(f"{repo}: no such folder", code="git_failed")
    if rev_range is not None and (rev_range.startswith("-") or not REV_RANGE.fullmatch(rev_range)):
        raise InvalidInput(f"--rev-range {rev_range!r} is not a revision range such as v1.0.0..HEAD", field="rev_range")
    if max_count is not None and max_count < 1:
        raise InvalidInput("--max-count must be at least 1", field="max_count")
    name = repository if repository is not None else repository_name(repo)
    args = ["log", f"--format={LOG_FORMAT}", "--no-color", "--encoding=UTF-8"]
    if max_count:
        args.append(f"--max-count={max_count}")
    args += [*([rev_range] if rev_range else []), "--"]
    output = _git(repo, *args)
    entries = []
    for record in output.split(RECORD):
        record = record.lstrip("\n")
        if not record:
            continue
        fields = record.split(FIELD, 5)
        if len(fields) != 6:
            raise InvalidInput(f"cannot read git log output near {record[:60]!r}", code="git_failed")
        sha, parents, author_name, author_email, authored_at, message = fields
        entries.append(
            {
                "sha": sha,
                "parents": parents.split(),
                "author_name": author_name[:255],
                "author_email": author_email[:255],
                "authored_at": authored_at,
                "message": message.rstrip("\n"),
                "repository": name[:500],
            }
        )
    if not entries:
        return []
    return commit_inputs_parse(entries, source="git log")
