"""A healthy home-lab cluster as the controllers leave it, for the fake API server: objects shaped as cert-manager,
Flux, external-secrets, Envoy Gateway, VolSync and the kubelet write them, for the workspaces the tree defines."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ocw.workspace import Workspace
from support.fake_kube import FakeKube, NextBoot, rfc3339

NAMESPACE = "opencode"
DOMAIN = "example.test"
CERT_NAME = "opencode-example-test-production"
SHA = "sha1:4f8c1e2a9b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"
# What the cluster holds, written out as the component's values make app-template name it: the controller
# `opencode`, a release's only Deployment and only HTTPRoute both named after the release, the route on the
# https-opencode listener of envoy-internal.
CONTROLLER = "opencode"
PARENT = {"name": "envoy-internal", "namespace": "network", "sectionName": "https-opencode"}
RELOADER = {"reloader.stakater.com/auto": "true"}


@dataclass
class WorkspaceSecrets:
    password: str
    token: str
    copilot: str


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def ready(reason: str, message: str, generation: int = 1) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": "True",
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": rfc3339(datetime.now(UTC) - timedelta(hours=3)),
    }


def not_clone_log(ws: Workspace) -> str:
    return (
        f"init: repository present at {ws.working_dir}: not cloning\n"
        "init: Copilot auth unchanged since the last seed: left as it is\ninit: done in 0s\n"
    )


def populate(fake: FakeKube, workspaces: list[Workspace], secrets: dict[str, WorkspaceSecrets]) -> None:
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": NAMESPACE,
                "labels": {"kubernetes.io/metadata.name": NAMESPACE, "kustomize.toolkit.fluxcd.io/prune": "disabled"},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
    )
    now = datetime.now(UTC)
    fake.add(
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": CERT_NAME, "namespace": "network"},
            "spec": {
                "secretName": f"{CERT_NAME}-tls",
                "issuerRef": {"name": "letsencrypt-production", "kind": "ClusterIssuer"},
                "commonName": f"*.opencode.{DOMAIN}",
                "dnsNames": [f"*.opencode.{DOMAIN}"],
            },
            "status": {
                "conditions": [ready("Ready", "Certificate is up to date and has not expired")],
                "notBefore": rfc3339(now - timedelta(days=10)),
                "notAfter": rfc3339(now + timedelta(days=80)),
                "renewalTime": rfc3339(now + timedelta(days=50)),
                "revision": 1,
            },
        }
    )
    fake.add(
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": "example-test-production", "namespace": "network"},
            "spec": {
                "secretName": "example-test-production-tls",
                "issuerRef": {"name": "letsencrypt-production", "kind": "ClusterIssuer"},
                "dnsNames": [DOMAIN, f"*.{DOMAIN}"],
            },
            "status": {"conditions": [ready("Ready", "Certificate is up to date and has not expired")]},
        }
    )
    for ws in workspaces:
        add_workspace(fake, ws, secrets[ws.name])


def add_workspace(fake: FakeKube, ws: Workspace, secret: WorkspaceSecrets) -> None:
    now = datetime.now(UTC)
    ks = ws.built.kustomization
    fake.add(
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": ks.name, "namespace": ks.namespace},
            "spec": dict(ks.spec),
            "status": {
                "observedGeneration": 1,
                "lastAppliedRevision": f"main@{SHA}",
                "lastAttemptedRevision": f"main@{SHA}",
                "conditions": [ready("ReconciliationSucceeded", f"Applied revision: main@{SHA}")],
            },
        }
    )
    fake.add(
        {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": ws.name, "namespace": NAMESPACE},
            "spec": ws.helmrelease.obj.get("spec"),
            "status": {
                "observedGeneration": 1,
                "conditions": [
                    ready(
                        "UpgradeSucceeded",
                        f"Helm upgrade succeeded for release {NAMESPACE}/{ws.name}.v2 with chart app-template@4.4.0",
                    ),
                    {**ready("UpgradeSucceeded", "Helm upgrade succeeded"), "type": "Released"},
                ],
                "history": [{"chartName": "app-template", "chartVersion": "4.4.0", "status": "deployed"}],
            },
        }
    )
    es_name = ws.external_secret.name if ws.external_secret else ws.name
    fake.add(
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": es_name, "namespace": NAMESPACE},
            "spec": ws.external_secret.obj.get("spec") if ws.external_secret else {},
            "status": {
                "binding": {"name": ws.secret_name},
                "refreshTime": rfc3339(now - timedelta(minutes=2)),
                "syncedResourceVersion": "1-0a1b2c3d4e5f",
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "SecretSynced",
                        "message": "secret synced",
                        "lastTransitionTime": rfc3339(now - timedelta(hours=3)),
                    }
                ],
            },
        }
    )
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": ws.secret_name,
                "namespace": NAMESPACE,
                "labels": {
                    "reconcile.external-secrets.io/created-by": "a1b2c3",
                    "reconcile.external-secrets.io/managed": "true",
                },
                "ownerReferences": [
                    {
                        "apiVersion": "external-secrets.io/v1",
                        "kind": "ExternalSecret",
                        "name": es_name,
                        "uid": "3b9f2a55-0c1d-4e8f-9a7b-1c2d3e4f5a6b",
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "data": {
                "OPENCODE_SERVER_PASSWORD": _b64(secret.password),
                "GITHUB_TOKEN": _b64(secret.token),
                # What the ExternalSecret's push switch renders: the PAT under _enabled, nothing under _disabled.
                "GIT_PUSH_TOKEN_enabled": _b64(secret.token),
                "GIT_PUSH_TOKEN_disabled": "",
                "COPILOT_AUTH_JSON": _b64(secret.copilot),
            },
        }
    )
    labels = {
        "app.kubernetes.io/controller": CONTROLLER,
        "app.kubernetes.io/instance": ws.name,
        "app.kubernetes.io/name": ws.name,
    }
    init = ws.init_container
    deployment = fake.add(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": ws.name,
                "namespace": NAMESPACE,
                "labels": {**labels, "helm.sh/chart": "app-template-4.4.0"},
                "annotations": {
                    "deployment.kubernetes.io/revision": "2",
                    **RELOADER,
                    "meta.helm.sh/release-name": ws.name,
                    "meta.helm.sh/release-namespace": NAMESPACE,
                },
            },
            "spec": {
                "replicas": 1,
                "revisionHistoryLimit": 3,
                "selector": {"matchLabels": labels},
                "strategy": {"type": "Recreate"},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "initContainers": [{"name": init.name, "image": init.image}] if init else [],
                        "containers": [{"name": "app", "image": ws.app_container.image, "workingDir": ws.working_dir}],
                    },
                },
            },
            "status": {
                "observedGeneration": 1,
                "replicas": 1,
                "readyReplicas": 1,
                "updatedReplicas": 1,
                "availableReplicas": 1,
            },
        }
    )
    fake.next_boot = NextBoot(init_seconds=0, init_log=not_clone_log(ws))
    fake.new_pod(deployment, ready=True, init_seconds=0)
    fake.add(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": ws.name, "namespace": NAMESPACE},
            "spec": {
                "hostnames": [str(ws.hostname)],
                "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", **PARENT}],
                "rules": [{"backendRefs": [{"name": ws.name, "port": 4096, "kind": "Service", "weight": 1}]}],
            },
            "status": {
                "parents": [
                    {
                        "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", **PARENT},
                        "conditions": [
                            {
                                "type": "Accepted",
                                "status": "True",
                                "reason": "Accepted",
                                "message": "Route is accepted",
                                "observedGeneration": 1,
                                "lastTransitionTime": rfc3339(now),
                            },
                            {
                                "type": "ResolvedRefs",
                                "status": "True",
                                "reason": "ResolvedRefs",
                                "message": "Resolved all the Object references for the Route",
                                "observedGeneration": 1,
                                "lastTransitionTime": rfc3339(now),
                            },
                        ],
                    }
                ]
            },
        }
    )
    schedule = str(ws.built.kustomization.substitute.get("VOLSYNC_SCHEDULE", "0 * * * *"))
    fake.add(
        {
            "apiVersion": "volsync.backube/v1alpha1",
            "kind": "ReplicationSource",
            "metadata": {"name": ws.name, "namespace": NAMESPACE},
            "spec": {"sourcePVC": ws.name, "trigger": {"schedule": schedule}, "restic": {"copyMethod": "Snapshot"}},
            "status": {
                "lastSyncTime": rfc3339(now - timedelta(minutes=25)),
                "lastSyncDuration": "1m12.5s",
                "nextSyncTime": rfc3339(now + timedelta(minutes=35)),
                "latestMoverStatus": {"result": "Successful", "logs": "processed 1234 files, 45.6 MiB in 0:41"},
                "conditions": [
                    {
                        "type": "Synchronizing",
                        "status": "False",
                        "reason": "WaitingForSchedule",
                        "message": "Waiting for next scheduled synchronization",
                        "lastTransitionTime": rfc3339(now),
                    }
                ],
                "restic": {"lastPruned": rfc3339(now - timedelta(days=2))},
            },
        }
    )
