"""The workspace settings in an installed ks.yaml are the user's: the image tag Renovate bumps, a volume size, a
storage class they add. A later `ocw install` (with or without --force) keeps them, and a new workspace starts with
the tag all the others agree on. docs/deploy.md#upgrading-opencode is this file's runbook."""

from __future__ import annotations

from install.conftest import ClusterRepo

FLUX_KS = "kubernetes/apps/opencode/opencode-flux/ks.yaml"
HA_KS = "kubernetes/apps/opencode/opencode-ha/ks.yaml"
PROJECT_TAG = "WORKSPACE_IMAGE_TAG: 1.18.33"
BUMPED_TAG = "WORKSPACE_IMAGE_TAG: 1.19.0-abc1234"


def bump_tag(installed: ClusterRepo) -> None:
    """What Renovate (or the runbook's one edit) does: the new tag in every workspace's ks.yaml."""
    for ks in (FLUX_KS, HA_KS):
        text = installed.text(ks)
        assert PROJECT_TAG in text
        installed.write(ks, text.replace(PROJECT_TAG, BUMPED_TAG))


def test_a_bumped_image_tag_survives_install_and_check_says_tested_with(installed: ClusterRepo) -> None:
    bump_tag(installed)
    before = installed.snapshot()

    again = installed.install()
    forced = installed.install("--force")

    assert installed.snapshot() == before, "neither install nor install --force reverts the tag"
    assert "refused" not in again.stdout and "refused" not in forced.stdout
    assert again.code == forced.code == 0, again.stderr
    report = installed.check()
    warnings = [f.message for f in report.warnings if f.rule == "opencode-version"]
    assert warnings and all("tested with OpenCode 1.18.33, running 1.19.0" in m for m in warnings), warnings
    assert not [f for f in report.errors if f.rule == "opencode-version"]
    assert "tested with OpenCode 1.18.33, running 1.19.0" in again.stdout, "install's own check shows the warning"


def test_a_documented_setting_and_an_added_one_are_kept_and_the_rest_still_updated(installed: ClusterRepo) -> None:
    text = installed.text(HA_KS)
    mine = text.replace("VOLSYNC_CAPACITY: 5Gi", "VOLSYNC_CAPACITY: 20Gi").replace(
        "      VOLSYNC_SCHEDULE:",
        "      # a faster class for this one\n      VOLSYNC_STORAGECLASS: ceph-fast\n      VOLSYNC_SCHEDULE:",
    )
    installed.write(HA_KS, mine)
    result = installed.install()
    assert result.code == 0, result.stderr
    assert "refused" not in result.stdout
    assert installed.text(HA_KS) == mine

    # A line the project owns changed as well: now the file is refused, and --force brings back only that line.
    installed.write(HA_KS, mine.replace("  interval: 30m", "  interval: 45m", 1))
    refused = installed.install()
    assert refused.code == 2
    assert "refused            kubernetes/apps/opencode/opencode-ha/ks.yaml" in refused.stdout

    forced = installed.install("--force")
    assert forced.code == 0, forced.stderr
    restored = installed.text(HA_KS)
    assert "  interval: 30m" in restored, "--force brings back what the project owns"
    assert "VOLSYNC_CAPACITY: 20Gi" in restored and "VOLSYNC_STORAGECLASS: ceph-fast" in restored
    assert "# a faster class for this one\n      VOLSYNC_STORAGECLASS: ceph-fast\n" in restored


def test_a_new_workspace_starts_with_the_tag_the_others_agree_on(installed: ClusterRepo) -> None:
    bump_tag(installed)

    added = installed.install("--workspace", "docs", "--repository", "https://github.com/jbaker48/docs.git")

    assert added.code == 0, added.stderr
    assert BUMPED_TAG in installed.text("kubernetes/apps/opencode/opencode-docs/ks.yaml")
