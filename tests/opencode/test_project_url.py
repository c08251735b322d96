"""The project link: the values the ks.yaml files carry, and what a link opens."""

from __future__ import annotations

import pytest

from ocw.opencode.project_url import directory_of, landing_path, project_path, project_url


def test_the_ks_values_are_base64url_of_the_workspace_dirs_without_padding() -> None:
    # The two values in kubernetes/apps/opencode/*/ks.yaml (ocw check compares them after the build).
    assert project_path("/Users/jbaker/git/k8s-cluster") == "L1VzZXJzL2piYWtlci9naXQvazhzLWNsdXN0ZXI"
    assert (
        project_path("/Users/jbaker/git/home-assistant-config")
        == "L1VzZXJzL2piYWtlci9naXQvaG9tZS1hc3Npc3RhbnQtY29uZmln"
    )


def test_url_safe_alphabet_and_no_padding() -> None:
    # "?>" and "~" encode to "+" and "/" in standard base64: a URL path segment needs "-" and "_".
    segment = project_path("/a?>~")
    assert "=" not in segment and "+" not in segment and "/" not in segment
    assert directory_of(f"/{segment}/session") == "/a?>~"


def test_a_link_opens_its_directory_and_nothing_else_is_a_project_link() -> None:
    url = project_url("https://flux.opencode.example.test/", "/Users/jbaker/git/k8s-cluster")
    assert url == "https://flux.opencode.example.test/L1VzZXJzL2piYWtlci9naXQvazhzLWNsdXN0ZXI/session"
    assert directory_of(url) == "/Users/jbaker/git/k8s-cluster"
    assert landing_path("/x") == f"/{project_path('/x')}/session"
    for other in ("/", "/session", "/global/health", "/L3g/session/ses_1", "/bm90LWFic29sdXRl/session"):
        assert directory_of(other) is None, other


def test_a_relative_directory_is_refused() -> None:
    with pytest.raises(ValueError, match="absolute"):
        project_path("git/k8s-cluster")
