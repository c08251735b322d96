"""Local work survives every start; WORKSPACE_GIT_PULL=enabled fast-forwards a clean clone and nothing else."""

from __future__ import annotations

from runtime.workspace_pod import Pod
from support.tokens import random_text


def make_local_work(pod: Pod) -> dict[str, str]:
    """A modified tracked file, a staged new file and an untracked file; returns their expected contents."""
    work = {
        "README.md": "# k8s-cluster\n\nlocal notes, not committed\n",
        "kubernetes/apps/opencode/staged.yaml": "kind: ConfigMap\n",
        "scratch/untracked.txt": "thinking out loud\n",
    }
    for relative, content in work.items():
        pod.write_file(relative, content)
    pod.git("add", "kubernetes/apps/opencode/staged.yaml")
    return work


def assert_work_intact(pod: Pod, work: dict[str, str]) -> None:
    for relative, content in work.items():
        assert (pod.workspace / relative).read_text() == content, relative


def test_uncommitted_and_untracked_work_survives_restarts(pod: Pod) -> None:
    pod.boot()
    work = make_local_work(pod)
    head = pod.git("rev-parse", "HEAD")
    status = pod.git("status", "--porcelain", "--untracked-files=all")

    for _ in range(3):
        pod.boot()

    assert_work_intact(pod, work)
    assert pod.git("status", "--porcelain", "--untracked-files=all") == status
    assert pod.git("rev-parse", "HEAD") == head
    assert pod.git("stash", "list") == ""


def test_pull_fast_forwards_a_clean_clone(pod: Pod) -> None:
    pod.boot()
    new_head = pod.upstream.commit({"kubernetes/apps/opencode/new-app.yaml": "kind: Deployment\n"}, "Add an app")

    result = pod.boot(pull="enabled")

    assert pod.git("rev-parse", "HEAD") == new_head
    assert (pod.workspace / "kubernetes" / "apps" / "opencode" / "new-app.yaml").is_file()
    assert pod.git("status", "--porcelain", "--untracked-files=all") == ""
    assert "fast-forwarded main by 1 commit(s) from origin/main" in result.stdout


def test_pull_is_off_unless_asked_for(pod: Pod) -> None:
    pod.boot()
    old_head = pod.git("rev-parse", "HEAD")
    pod.upstream.commit({"later.txt": "later\n"}, "Later")
    pod.server.clear_requests()

    pod.boot()

    assert pod.git("rev-parse", "HEAD") == old_head
    assert pod.server.requests() == []


def test_pull_never_touches_uncommitted_changes(pod: Pod) -> None:
    pod.boot()
    old_head = pod.git("rev-parse", "HEAD")
    work = make_local_work(pod)
    new_head = pod.upstream.commit({"README.md": "# k8s-cluster\n\nupstream edit\n", "added.txt": "x\n"}, "Edit")

    result = pod.boot(pull="enabled")

    assert_work_intact(pod, work)
    assert pod.git("rev-parse", "HEAD") == old_head
    assert pod.git("rev-parse", "origin/main") == new_head
    assert "not pulling" in result.stdout
    assert "uncommitted changes, left as they are" in result.stdout


def test_pull_does_not_overwrite_untracked_files(pod: Pod) -> None:
    pod.boot()
    old_head = pod.git("rev-parse", "HEAD")
    pod.write_file("notes/todo.md", "mine\n")
    pod.upstream.commit({"notes/todo.md": "theirs\n"}, "Add the same path upstream")

    result = pod.boot(pull="enabled")

    assert (pod.workspace / "notes" / "todo.md").read_text() == "mine\n"
    assert pod.git("rev-parse", "HEAD") == old_head
    assert "untracked files" in result.stdout
    assert "would be overwritten" in result.stdout


def test_pull_leaves_local_commits_alone(pod: Pod) -> None:
    pod.boot()
    pod.write_file("local.txt", "committed in the workspace\n")
    pod.git("add", "local.txt")
    pod.git("commit", "--quiet", "-m", "Local work")
    local_head = pod.git("rev-parse", "HEAD")
    pod.upstream.commit({"remote.txt": "upstream\n"}, "Upstream work")

    result = pod.boot(pull="enabled")

    assert pod.git("rev-parse", "HEAD") == local_head
    assert (pod.workspace / "local.txt").is_file()
    assert not (pod.workspace / "remote.txt").exists()
    assert "not a fast-forward" in result.stdout


def test_pull_with_the_remote_unreachable_still_starts_the_workspace(pod: Pod) -> None:
    pod.boot()
    head = pod.git("rev-parse", "HEAD")
    pod.server.stop()

    result = pod.run(pull="enabled")

    assert result.returncode == 0, result.describe()
    assert "not pulling" in result.stderr
    assert "cannot reach 127.0.0.1" in result.stderr
    assert pod.git("rev-parse", "HEAD") == head


def test_pull_with_a_revoked_token_still_starts_the_workspace_and_says_why(pod: Pod) -> None:
    pod.boot()
    head = pod.git("rev-parse", "HEAD")
    pod.upstream.commit({"later.txt": "later\n"}, "Later")
    revoked = random_text("ghp_")
    pod.set_token(revoked)

    result = pod.run(pull="enabled")

    assert result.returncode == 0, result.describe()
    assert "the server refused the token" in result.stderr
    assert revoked not in result.output
    assert pod.git("rev-parse", "HEAD") == head


def test_pull_blocked_by_git_itself_reports_gits_reason_and_changes_nothing(pod: Pod) -> None:
    pod.boot()
    head = pod.git("rev-parse", "HEAD")
    # What a git process killed in the workspace's terminal leaves behind.
    pod.write_file(pod.workspace / ".git" / "index.lock", "")
    pod.upstream.commit({"later.txt": "later\n"}, "Later")

    result = pod.run(pull="enabled")

    assert result.returncode == 0, result.describe()
    assert "git could not fast-forward main" in result.stderr
    assert "index.lock" in result.stderr
    assert "not a fast-forward" not in result.output
    assert pod.git("rev-parse", "HEAD") == head
