"""The small pieces the rules stand on: wildcard coverage, quantities and durations, JSON patches."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocw.check.gateway import covers
from ocw.check.inventory import build_inventory
from ocw.check.references import secret_keys
from ocw.check.sources import TextFile, check_schema_comments
from ocw.flux.build import Manifest
from ocw.helm.render import Capabilities
from ocw.install import json_patch
from ocw.kube.quantity import duration_seconds, quantity


@pytest.mark.parametrize(
    ("pattern", "hostname", "covered"),
    [
        ("*.example.com", "flux.example.com", True),
        ("*.example.com", "flux.opencode.example.com", False),  # one label only
        ("*.example.com", "example.com", False),
        ("*.opencode.example.com", "flux.opencode.example.com", True),
        ("example.com", "example.com", True),
        ("flux.opencode.example.com", "FLUX.opencode.example.com.", True),
    ],
)
def test_a_wildcard_covers_one_label(pattern: str, hostname: str, covered: bool) -> None:
    assert covers(pattern, hostname) is covered


def test_quantities_compare_by_value() -> None:
    assert quantity("512Mi") == quantity("0.5Gi") == Decimal(512 * 2**20)
    assert quantity("100m") == quantity("0.1")
    assert quantity("5Gi") != quantity("5G")
    assert quantity("five") is None
    assert quantity(True) is None


def test_durations_in_seconds() -> None:
    assert duration_seconds("1h30m") == 5400
    assert duration_seconds("0s") == 0
    assert duration_seconds("250ms") == Decimal("0.25")
    assert duration_seconds("1 hour") is None


def test_json_patch_add_appends_and_inserts() -> None:
    document = {"spec": {"listeners": [{"name": "http"}]}}
    patched = json_patch.apply(
        document,
        [
            {"op": "add", "path": "/spec/listeners/-", "value": {"name": "https"}},
            {"op": "add", "path": "/spec/listeners/0", "value": {"name": "first"}},
            {"op": "replace", "path": "/spec/listeners/2/name", "value": "https-opencode"},
        ],
    )
    assert [item["name"] for item in patched["spec"]["listeners"]] == ["first", "http", "https-opencode"]
    assert document == {"spec": {"listeners": [{"name": "http"}]}}  # the input is left alone


def test_json_patch_names_the_operation_that_fails() -> None:
    with pytest.raises(json_patch.PatchError, match=r"operation 0 .*/spec/missing/-"):
        json_patch.apply({"spec": {}}, [{"op": "add", "path": "/spec/missing/-", "value": 1}])
    with pytest.raises(json_patch.PatchError, match="unsupported operation 'move'"):
        json_patch.apply({}, [{"op": "move", "from": "/a", "path": "/b"}])


def test_schema_comment_depends_on_the_chart() -> None:
    """app-template HelmReleases point at the bjw-s schema; another chart's at a HelmRelease schema such as
    flux2-schemas', which the app-template rule would wrongly refuse."""
    flux = "# yaml-language-server: $schema=https://raw.githubusercontent.com/fluxcd-community/flux2-schemas/main/helmrelease-helm-v2.json\n"
    other = TextFile("kubernetes/apps/network/external-dns/app/helmrelease.yaml", f"---\n{flux}kind: HelmRelease\n")
    assert check_schema_comments([other], app_template_files=set()) == []
    [finding] = check_schema_comments([other], app_template_files={other.path})
    assert "bjw-s/helm-charts" in finding.message
    bare = TextFile(other.path, "---\nkind: HelmRelease\n")
    [finding] = check_schema_comments([bare], app_template_files=set())
    assert "helmrelease-helm-v2.json" in finding.message


def test_a_certificate_produces_the_secret_it_names() -> None:
    """cert-manager writes a Certificate's key pair to spec.secretName: a pod may mount it."""
    certificate = Manifest(
        obj={
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": "idm", "namespace": "security"},
            "spec": {"secretName": "idm-tls"},
        },
        kustomization="kanidm",
        file="kubernetes/apps/security/kanidm/app/certificate.yaml",
    )
    inventory = build_inventory([certificate], [], Capabilities("1.35.0", ()))
    assert secret_keys(inventory, "security", "idm-tls") == (certificate, {"tls.crt", "tls.key", "ca.crt"})
    assert secret_keys(inventory, "default", "idm-tls") == (None, None)
