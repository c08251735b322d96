"""SEC.2 against a local stand-in of GitHub's REST API: the default branch must require pull requests, and the token
must not be a classic one that reaches every repository; only GET requests are ever sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ocw.verify.github import check_github_guard
from support.github_api import GitHubApi, Repository

URL = "https://github.com/jbaker48/k8s-cluster.git"
TOKEN = "github_pat_" + "A1b2" * 20  # token-shaped, not a token


@pytest.fixture
def github() -> Iterator[GitHubApi]:
    with GitHubApi() as api:
        api.repositories["jbaker48/k8s-cluster"] = Repository(token=TOKEN)
        yield api


def test_a_protected_default_branch_and_a_fine_grained_token_pass(github: GitHubApi) -> None:
    outcome = check_github_guard(URL, TOKEN, api=github.url)

    assert outcome.status == "pass", outcome
    assert any("active rules deletion, non_fast_forward, pull_request" in line for line in outcome.evidence)
    assert any("fine-grained" in line for line in outcome.evidence)
    assert "pull requests into main need 1 approval(s)" in outcome.evidence
    assert {method for method, _ in github.requests} == {"GET"}
    assert [path for _, path in github.requests] == [
        "/repos/jbaker48/k8s-cluster",
        "/repos/jbaker48/k8s-cluster/rules/branches/main",
    ]


def test_a_default_branch_without_a_pull_request_rule_fails(github: GitHubApi) -> None:
    github.repositories["jbaker48/k8s-cluster"].rules = ["non_fast_forward"]

    outcome = check_github_guard(URL, TOKEN, api=github.url)

    assert outcome.status == "fail"
    assert "no pull_request rule on main" in (outcome.seen or "")
    assert "ruleset" in (outcome.next_step or "")


def test_the_rules_of_a_renamed_default_branch_are_the_ones_read(github: GitHubApi) -> None:
    github.repositories["jbaker48/k8s-cluster"].default_branch = "trunk"

    outcome = check_github_guard(URL, TOKEN, api=github.url)

    assert outcome.status == "pass", outcome
    assert github.requests[-1][1] == "/repos/jbaker48/k8s-cluster/rules/branches/trunk"


@pytest.mark.parametrize("scopes", ["repo, workflow", "repo", "public_repo, admin:repo_hook"])
def test_a_classic_token_with_wide_scopes_fails(github: GitHubApi, scopes: str) -> None:
    github.repositories["jbaker48/k8s-cluster"].scopes = scopes

    outcome = check_github_guard(URL, TOKEN, api=github.url)

    assert outcome.status == "fail"
    assert "classic token" in (outcome.seen or "")
    assert "fine-grained" in (outcome.expected or "")


def test_a_refused_token_fails_without_showing_it(github: GitHubApi) -> None:
    outcome = check_github_guard(URL, "github_pat_" + "Z" * 40, api=github.url)

    assert outcome.status == "fail"
    assert outcome.seen == "HTTP 401"
    assert "github_pat_" not in repr(outcome)


def test_a_repository_off_github_is_named(github: GitHubApi) -> None:
    outcome = check_github_guard("https://git.example.org/team/repo.git", TOKEN, api=github.url)

    assert outcome.status == "fail"
    assert "git.example.org" in (outcome.seen or "")
    assert github.requests == []
