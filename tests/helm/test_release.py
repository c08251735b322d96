"""A HelmRelease as helm-controller reads it: the release name and namespace, the chart it asks for, and the values
it composes from valuesFrom and values (fluxcd/pkg chartutil.ChartValuesFromReferences)."""

from __future__ import annotations

import base64
from typing import Any

from ocw.helm.release import (
    ChartProblem,
    ChartRequest,
    chart_request,
    compose_values,
    release_name,
    release_namespace,
)
from ocw.kube.manifest import Manifest


def manifest(kind: str, name: str, namespace: str | None = "apps", **fields: Any) -> Manifest:
    metadata: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    return Manifest(
        obj={"apiVersion": "v1", "kind": kind, "metadata": metadata, **fields}, kustomization="ks", file="f"
    )


def release(**spec: Any) -> Manifest:
    return manifest("HelmRelease", "podinfo", spec=spec)


def lookup_in(*objects: Manifest) -> Any:
    index = {(m.kind, m.namespace or "", m.name): m for m in objects}
    return lambda kind, namespace, name: index.get((kind, namespace or "", name))


def test_the_release_name_and_namespace_follow_helm_controller() -> None:
    assert (release_name(release()), release_namespace(release())) == ("podinfo", "apps")
    assert release_name(release(targetNamespace="web")) == "web-podinfo"
    assert release_namespace(release(targetNamespace="web", storageNamespace="flux")) == "web"
    assert release_name(release(releaseName="mine", targetNamespace="web")) == "mine"
    # Past 53 characters: the first 40, a dash and 12 hex digits of the SHA-256 (helm-controller's own test cases;
    # its documentation's example has 42).
    long = "release-name-with-very-long-name-which-is-longer-than-53-characters"
    assert release_name(release(releaseName=long)) == "release-name-with-very-long-name-which-i-788ca0d0d7b0"
    composed = manifest(
        "HelmRelease",
        "name-with-very-long-name-which-is-longer-than-53-characters",
        spec={"targetNamespace": "release"},
    )
    assert release_name(composed) == "release-name-with-very-long-name-which-i-788ca0d0d7b0"


def test_values_from_merge_in_order_then_inline_values_win() -> None:
    base = manifest("ConfigMap", "base", data={"values.yaml": "a: {x: 1, y: 1}\nlist: [1, 2]\n"})
    secret = manifest(
        "Secret", "override", data={"custom.yaml": base64.b64encode(b"a: {y: 2, z: 2}\nlist: [3]\n").decode()}
    )
    hr = release(
        valuesFrom=[
            {"kind": "ConfigMap", "name": "base"},
            {"kind": "Secret", "name": "override", "valuesKey": "custom.yaml"},
        ],
        values={"a": {"z": 3}},
    )
    values, problems = compose_values(hr, lookup_in(base, secret))
    assert problems == []
    assert values == {"a": {"x": 1, "y": 2, "z": 3}, "list": [3]}


def test_a_target_path_sets_one_value_typed_as_helm_set_types_it() -> None:
    source = manifest("ConfigMap", "settings", data={"replicas": "3", "host": "'a.example.com'", "json": '{"a": 1}'})
    hr = release(
        valuesFrom=[
            {"kind": "ConfigMap", "name": "settings", "valuesKey": "replicas", "targetPath": "app.replicas"},
            {"kind": "ConfigMap", "name": "settings", "valuesKey": "host", "targetPath": "ingress.hosts[1]"},
            {
                "kind": "ConfigMap",
                "name": "settings",
                "valuesKey": "json",
                "targetPath": "conf\\.json",
                "literal": True,
            },
        ]
    )
    values, problems = compose_values(hr, lookup_in(source))
    assert problems == []
    assert values == {"app": {"replicas": 3}, "ingress": {"hosts": [None, "a.example.com"]}, "conf.json": '{"a": 1}'}


def test_what_helm_controller_would_refuse_and_what_is_only_unknown_offline() -> None:
    sops = manifest("Secret", "encrypted", data={"values.yaml": "RU5DW...=="})
    sops.raw = {**sops.obj, "sops": {"version": "3.9.0"}}
    hr = release(
        valuesFrom=[
            {"kind": "ConfigMap", "name": "missing"},
            {"kind": "ConfigMap", "name": "absent-but-optional", "optional": True},
            {"kind": "Secret", "name": "encrypted"},
            {"kind": "ConfigMap", "name": "present", "valuesKey": "nope.yaml"},
        ]
    )
    present = manifest("ConfigMap", "present", data={"values.yaml": "a: 1\n"})
    _, problems = compose_values(hr, lookup_in(sops, present))
    assert [(p.fatal, p.message.split(":")[0]) for p in problems] == [
        (True, "valuesFrom ConfigMap missing key values.yaml"),
        (False, "valuesFrom Secret encrypted key values.yaml"),
        (True, "valuesFrom ConfigMap present key nope.yaml"),
    ]
    assert "SOPS-encrypted" in problems[1].message


def test_the_chart_comes_from_an_oci_repository_or_a_helm_repository() -> None:
    oci = manifest(
        "OCIRepository",
        "app",
        apiVersion="source.toolkit.fluxcd.io/v1",
        spec={"url": "oci://ghcr.io/bjw-s-labs/helm/app-template", "ref": {"tag": "4.4.0"}, "insecure": True},
    )
    repository = manifest("HelmRepository", "charts", namespace="flux-system", spec={"url": "https://charts.example"})
    lookup = lookup_in(oci, repository)
    by_ref = chart_request(release(chartRef={"kind": "OCIRepository", "name": "app"}), lookup)
    assert isinstance(by_ref, ChartRequest)
    assert (by_ref.chart, by_ref.version, by_ref.source.insecure) == ("app-template", "4.4.0", True)
    template = {
        "chart": "podinfo",
        "version": "6.x",
        "sourceRef": {"kind": "HelmRepository", "name": "charts", "namespace": "flux-system"},
    }
    by_template = chart_request(release(chart={"spec": template}), lookup)
    assert isinstance(by_template, ChartRequest)
    assert (by_template.chart, by_template.version, by_template.oci_reference) == (
        "podinfo",
        "6.x",
        "https://charts.example/podinfo",
    )
    missing = chart_request(release(chartRef={"kind": "OCIRepository", "name": "other"}), lookup)
    assert isinstance(missing, ChartProblem)
    assert "OCIRepository apps/other" in missing.message
