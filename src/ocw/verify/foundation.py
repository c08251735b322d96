"""Phase 1 in the cluster: the namespace (P1.1) and the *.opencode certificate (P1.2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ocw.verify.cluster import CERTIFICATE, NAMESPACE
from ocw.verify.conditions import condition, describe, is_true
from ocw.verify.context import VerifyContext
from ocw.verify.result import Outcome, failed, passed

PRUNE_LABEL = "kustomize.toolkit.fluxcd.io/prune"
CERT_NAMESPACE = "network"
CERT_FILE = Path("kubernetes/apps/network/certificates/app/opencode.yaml")


def check_namespace(ctx: VerifyContext) -> Outcome:
    names = sorted({ws.namespace for ws in ctx.workspaces})
    evidence: list[str] = []
    for name in names:
        obj = ctx.cluster.get(NAMESPACE, name)
        if obj is None:
            return failed(
                f"namespace {name} (Active)",
                "no such namespace (404)",
                "list kubernetes/apps/opencode in the cluster's apps and reconcile: "
                "`flux reconcile kustomization cluster-apps --with-source`",
            )
        phase = (obj.get("status") or {}).get("phase")
        label = ((obj.get("metadata") or {}).get("labels") or {}).get(PRUNE_LABEL)
        if phase != "Active":
            return failed(f"namespace {name} Active", f"status.phase {phase}", "see `kubectl describe ns " + name + "`")
        if label != "disabled":
            return failed(
                f"namespace {name} labelled {PRUNE_LABEL}: disabled (so Flux never deletes it with its volumes)",
                f"label {PRUNE_LABEL}: {label if label is not None else 'absent'}",
                "keep the label in kubernetes/apps/opencode/namespace.yaml and reconcile",
                f"namespace {name}: Active",
            )
        evidence.append(f"namespace {name}: Active, {PRUNE_LABEL}={label}")
    return passed(*evidence)


def expected_issuer(repo: Path) -> dict[str, Any] | None:
    try:
        doc = yaml.safe_load((repo / CERT_FILE).read_text())
    except (OSError, yaml.YAMLError):
        return None
    issuer = ((doc or {}).get("spec") or {}).get("issuerRef")
    return dict(issuer) if isinstance(issuer, dict) else None


def check_certificate(ctx: VerifyContext) -> Outcome:
    domain, source = ctx.domain()
    if not domain:
        return failed(
            "the cluster's domain (to name *.opencode.<domain>)",
            f"found {source}",
            "pass --vars FILE with SECRET_DOMAIN",
        )
    wanted = f"*.opencode.{domain}"
    certificates = ctx.cluster.list(CERTIFICATE, CERT_NAMESPACE)
    matching = [c for c in certificates if wanted in ((c.get("spec") or {}).get("dnsNames") or [])]
    evidence = [f"domain {domain} (from {source})"]
    if not matching:
        seen = ", ".join(
            f"{(c.get('metadata') or {}).get('name')} {(c.get('spec') or {}).get('dnsNames')}" for c in certificates
        )
        return failed(
            f"a Certificate in namespace {CERT_NAMESPACE} with dnsName {wanted}",
            seen or "no Certificate in that namespace",
            f"list {CERT_FILE.name} in kubernetes/apps/network/certificates/app/kustomization.yaml (see "
            "scripts/README.md) and reconcile",
            *evidence,
        )
    cert = matching[0]
    name = (cert.get("metadata") or {}).get("name")
    issuer = (cert.get("spec") or {}).get("issuerRef") or {}
    want_issuer = expected_issuer(ctx.options.repo)
    if want_issuer and (issuer.get("name"), issuer.get("kind")) != (want_issuer.get("name"), want_issuer.get("kind")):
        return failed(
            f"issuer {want_issuer.get('kind')}/{want_issuer.get('name')} (as {CERT_FILE} says)",
            f"Certificate {name} uses {issuer.get('kind')}/{issuer.get('name')}",
            "apply the Certificate from the tree",
            *evidence,
        )
    ready = condition(cert, "Ready")
    status = cert.get("status") or {}
    if not is_true(ready):
        return failed(
            f"Certificate {CERT_NAMESPACE}/{name} Ready=True",
            describe("Ready", ready),
            f"`kubectl -n {CERT_NAMESPACE} describe certificate {name}` and its CertificateRequest/Order "
            "(DNS-01 via Cloudflare must be able to write _acme-challenge.opencode.<domain>)",
            *evidence,
        )
    evidence.append(
        f"Certificate {CERT_NAMESPACE}/{name}: {describe('Ready', ready)}; issuer {issuer.get('kind')}/"
        f"{issuer.get('name')}; notAfter {status.get('notAfter', '?')}"
    )
    return passed(*evidence)
