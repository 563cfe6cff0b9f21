"""The merged pull requests a release brings (``pull_requests_in_release``: ``git log
previous..release`` over the ingested commits) and whether their reviews approve them."""

from datetime import UTC, datetime, timedelta

import pytest

from traceability.change_review import ReviewRecord, review_verdict
from traceability.evidence_selectors import pull_requests_in_release
from traceability.models import Commit, Product, PullRequest, PullRequestLink, PullRequestReview, Release
from traceability.services.releases import release_create, release_freeze, release_withdraw

pytestmark = pytest.mark.django_db


def sha(name: str) -> str:
    return (name.encode().hex() + "0" * 40)[:40]


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 3, hour, minute, tzinfo=UTC)


def history(product: Product, edges: dict[str, list[str]]) -> None:
    """Commits by name with their parents (names), as ingest_git stores them."""
    Commit.objects.bulk_create(
        [
            Commit(product=product, sha=sha(name), parents=[sha(parent) for parent in parents], authored_at=at(8))
            for name, parents in edges.items()
        ]
    )


def merged_pr(
    product: Product,
    number: int,
    merge: str,
    *,
    author: str = "dana",
    reviews: list[tuple[str, str, datetime]] = (),  # type: ignore[assignment]
    merged_at: datetime | None = None,
    provider: str = "github",
) -> PullRequest:
    pull_request = PullRequest.objects.create(
        product=product,
        provider=provider,
        repository="acme/bolus",
        number=number,
        title=f"Change {number}",
        url=f"https://github.com/acme/bolus/pull/{number}",
        author=author,
        author_id=str(1000 + len(author)),
        state="merged",
        head_sha=sha(f"head{number}"),
        merge_commit_sha=sha(merge),
        merged_at=merged_at or at(12),
    )
    for index, (reviewer, state, when) in enumerate(reviews):
        PullRequestReview.objects.create(
            pull_request=pull_request,
            external_id=str(number * 100 + index),
            reviewer=reviewer,
            state=state,
            submitted_at=when,
        )
    return pull_request


@pytest.fixture
def product(small_graph) -> Product:
    product = small_graph["SRS-1"].product
    #   a ← b ← m1 ← c ← m2 ← d       (m1 merges PR #1, m2 PR #2)
    history(product, {"a": [], "b": ["a"], "m1": ["b"], "c": ["m1"], "m2": ["c"], "d": ["m2"]})
    return product


@pytest.fixture
def releases(product, qm) -> tuple[Release, Release]:
    first = release_freeze(product=product, version="1.0", actor=qm, commit_sha=sha("m1"))
    second = release_create(product=product, version="1.1", actor=qm, commit_sha=sha("d"))
    return first, second


def test_a_pull_request_merged_before_the_previous_release_is_not_in_this_release(product, releases):
    merged_pr(product, 1, "m1", reviews=[("robin", "approved", at(10))])
    merged_pr(product, 2, "m2", reviews=[("robin", "approved", at(10))])
    first, second = releases
    answer = pull_requests_in_release(release=second)
    assert (answer.version, answer.previous, answer.problems, answer.complete) == ("1.1", "1.0", [], True)
    assert [info.number for info in answer.prs] == [2]
    assert [info.number for info in pull_requests_in_release(release=first).prs] == [1]


def test_an_approved_pull_request_says_who_approved_it(product, releases, small_graph):
    pull_request = merged_pr(product, 2, "m2", reviews=[("robin", "commented", at(9)), ("robin", "approved", at(10))])
    PullRequestLink.objects.create(pull_request=pull_request, item=small_graph["SRS-1"], kind="implements")
    info = pull_requests_in_release(release=releases[1]).prs[0]
    assert (info.label, info.approved, info.approvers, info.reasons, info.items) == (
        "acme/bolus#2",
        True,
        ("robin",),
        ("approved by robin",),
        ("SRS-1",),
    )
    assert info.as_dict()["reviews"] == [
        {"reviewer": "robin", "state": "commented", "submitted_at": "2026-03-03T09:00:00Z", "commit_sha": ""},
        {"reviewer": "robin", "state": "approved", "submitted_at": "2026-03-03T10:00:00Z", "commit_sha": ""},
    ]


def test_a_review_by_the_author_does_not_count(product, releases):
    merged_pr(product, 2, "m2", author="dana", reviews=[("Dana", "approved", at(10))])
    info = pull_requests_in_release(release=releases[1]).prs[0]
    assert (info.approved, info.approvers) == (False, ())
    assert info.reasons == (
        "no approving review by anyone other than the author (dana)",
        "the approval of Dana (2026-03-03T10:00:00Z) is the author's own and does not count",
    )


def test_the_author_is_known_by_user_id_even_under_another_name():
    review = ReviewRecord("dana-renamed", "51", "approved", at(10), "", 1)
    approved, _, reasons = review_verdict(
        author="", author_id="51", merged_at=at(12), provider="gitlab", reviews=[review]
    )
    assert approved is False
    assert reasons[0] == "no approving review by anyone other than the author (user id 51)"


def test_unresolved_changes_requested_block_until_the_reviewer_approves(product, releases):
    merged_pr(
        product,
        2,
        "m2",
        reviews=[("robin", "approved", at(9)), ("kim", "changes_requested", at(10)), ("kim", "commented", at(11))],
    )
    info = pull_requests_in_release(release=releases[1]).prs[0]
    assert (info.approved, info.approvers) == (False, ("robin",))
    assert info.reasons == (
        "approved by robin",
        "changes requested by kim (2026-03-03T10:00:00Z) are unresolved: kim has not approved since and the "
        "review was not dismissed",
    )
    PullRequestReview.objects.create(
        pull_request=PullRequest.objects.get(number=2),
        external_id="kim-2",
        reviewer="kim",
        state="approved",
        submitted_at=at(11, 30),
    )
    info = pull_requests_in_release(release=releases[1]).prs[0]
    assert (info.approved, info.approvers, info.reasons) == (True, ("robin", "kim"), ("approved by robin, kim",))


def test_a_dismissed_request_for_changes_no_longer_blocks(product, releases):
    merged_pr(product, 2, "m2", reviews=[("robin", "approved", at(9)), ("kim", "dismissed", at(10))])
    info = pull_requests_in_release(release=releases[1]).prs[0]
    assert (info.approved, info.reasons) == (
        True,
        ("approved by robin", "kim had a review dismissed (2026-03-03T10:00:00Z)"),
    )


def test_a_withdrawn_gitlab_approval_does_not_count(product, releases):
    merged_pr(product, 2, "m2", provider="gitlab", reviews=[("robin", "dismissed", at(10))])
    info = pull_requests_in_release(release=releases[1]).prs[0]
    assert info.label == "acme/bolus!2"
    assert (info.approved, info.reasons) == (
        False,
        (
            "no approving review by anyone other than the author (dana)",
            "robin withdrew their approval (2026-03-03T10:00:00Z)",
        ),
    )


def test_an_approval_after_the_merge_does_not_count(product, releases):
    merged_pr(product, 2, "m2", merged_at=at(12), reviews=[("robin", "approved", at(12) + timedelta(minutes=5))])
    info = pull_requests_in_release(release=releases[1]).prs[0]
    assert info.approved is False
    assert info.reasons[1] == "the review of robin (2026-03-03T12:05:00Z) came after the merge and does not count"


def test_a_release_without_a_commit_has_no_pull_requests_and_says_why(product, qm):
    release = release_create(product=product, version="2.0", actor=qm)
    answer = pull_requests_in_release(release=release)
    assert (answer.prs, answer.complete) == ([], False)
    assert answer.problems == [
        "DEMO 2.0 names no commit (commit_sha), so the pull requests merged into it cannot be found: give the "
        "commit when freezing (release_freeze --commit, or POST .../freeze/ with commit_sha)"
    ]


def test_a_release_commit_that_was_not_ingested_places_no_pull_request(product, qm):
    merged_pr(product, 2, "m2")
    release = release_create(product=product, version="2.0", actor=qm, commit_sha="abcdef1")
    answer = pull_requests_in_release(release=release)
    assert answer.prs == []
    assert answer.problems == [
        "the commit abcdef1 of DEMO 2.0 is not among the ingested commits (no pull request can be placed): send "
        "the history with parents (ingest_git, or POST .../commits/ with 'parents')"
    ]


def test_a_short_release_commit_is_resolved(product, qm):
    merged_pr(product, 2, "m2")
    release = release_create(product=product, version="2.0", actor=qm, commit_sha=sha("d")[:10])
    assert [info.number for info in pull_requests_in_release(release=release).prs] == [2]


def test_a_hole_in_the_history_is_named_and_what_can_be_reached_still_counts(product, qm):
    Commit.objects.create(product=product, sha=sha("e"), parents=[sha("d"), sha("lost")], authored_at=at(13))
    merged_pr(product, 2, "m2")
    release = release_create(product=product, version="2.0", actor=qm, commit_sha=sha("e"))
    answer = pull_requests_in_release(release=release)
    assert [info.number for info in answer.prs] == [2]
    assert answer.problems == [
        f"the history behind DEMO 2.0 is incomplete: 1 parent commit(s) were not ingested (e.g. {sha('lost')[:12]}); "
        "pull requests merged there cannot be placed"
    ]


def test_commits_without_parents_cut_the_history_and_are_named(product, qm):
    Commit.objects.create(product=product, sha=sha("f"), parents=[sha("d"), sha("g")], authored_at=at(13))
    Commit.objects.create(product=product, sha=sha("g"), parents=[], authored_at=at(13))  # from a push webhook
    release = release_create(product=product, version="2.0", actor=qm, commit_sha=sha("f"))
    answer = pull_requests_in_release(release=release)
    assert answer.problems == [
        "2 commits behind DEMO 2.0 have no parents recorded (commits from GitHub push webhooks carry none): the "
        "history is cut there; ingest it with ingest_git or the commits API with parents"
    ]


def test_merged_pull_requests_whose_merge_commit_was_not_ingested_are_listed(product, releases):
    merged_pr(product, 2, "m2")
    merged_pr(product, 3, "elsewhere", merged_at=datetime.now(UTC) + timedelta(days=1))
    answer = pull_requests_in_release(release=releases[1])
    assert [info.number for info in answer.prs] == [2]
    assert answer.problems == [
        "1 merged pull request(s) name a merge commit that was not ingested, so they cannot be placed in or out "
        f"of DEMO 1.1: acme/bolus#3 ({sha('elsewhere')[:12]})"
    ]


def test_a_previous_release_whose_commit_cannot_be_found_lets_every_reachable_pull_request_count(product, qm):
    merged_pr(product, 1, "m1")
    merged_pr(product, 2, "m2")
    release_freeze(product=product, version="1.0", actor=qm, commit_sha="1234567")
    release = release_create(product=product, version="1.1", actor=qm, commit_sha=sha("d"))
    answer = pull_requests_in_release(release=release)
    assert [info.number for info in answer.prs] == [1, 2]
    assert answer.problems == [
        "the commit 1234567 of the previous release 1.0 is not among the ingested commits (pull requests merged "
        "before it cannot be told apart and count in this release): send the history with parents (ingest_git, "
        "or POST .../commits/ with 'parents')"
    ]


def test_a_withdrawn_release_is_not_the_previous_one(product, qm):
    merged_pr(product, 1, "m1")
    merged_pr(product, 2, "m2")
    withdrawn = release_freeze(product=product, version="1.0", actor=qm, commit_sha=sha("m1"))
    release_withdraw(release=withdrawn, actor=qm, reason="the dose rounding was wrong")
    release = release_create(product=product, version="1.1", actor=qm, commit_sha=sha("d"))
    answer = pull_requests_in_release(release=release)
    assert (answer.previous, [info.number for info in answer.prs]) == (None, [1, 2])


def test_open_and_closed_pull_requests_never_count(product, releases):
    merged_pr(product, 2, "m2")
    PullRequest.objects.create(
        product=product, provider="github", repository="acme/bolus", number=5, title="WIP", state="open"
    )
    assert [info.number for info in pull_requests_in_release(release=releases[1]).prs] == [2]


def test_the_answer_costs_the_same_queries_for_one_pull_request_or_many(product, releases, django_assert_num_queries):
    merged_pr(product, 2, "m2", reviews=[("robin", "approved", at(10))])
    with django_assert_num_queries(6) as one:
        assert len(pull_requests_in_release(release=releases[1]).prs) == 1
    names = {f"x{index}": [f"x{index - 1}" if index else "d"] for index in range(30)}
    history(product, names)
    for index in range(30):
        merged_pr(
            product, 10 + index, f"x{index}", reviews=[("robin", "approved", at(10)), ("kim", "approved", at(11))]
        )
    release = release_create(product=product, version="1.2", actor=None, commit_sha=sha("x29"))
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(pull_requests_in_release(release=release).prs) == 31
