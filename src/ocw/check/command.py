"""The `ocw check` command line."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ocw.check.run import DEFAULT_KUBERNETES_VERSION, run_check, stderr_progress
from ocw.errors import EXIT_FAILED, EXIT_OK


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check",
        help="validate the GitOps tree offline as Flux would build it",
        description=(
            "Follow Flux's graph in the repository offline, the way Flux applies it: from its bootstrap (a "
            "clusters/<name>/flux-system/gotk-sync.yaml, a FluxInstance's sync.path, or a Kustomization with its "
            "source under kubernetes/flux/), build each Flux Kustomization as kustomize-controller does (kubectl "
            "kustomize: the pinned kubectl, else kubectl >= 1.27 or kustomize >= 5.0 on PATH), follow the "
            "Kustomizations each build yields, render every HelmRelease with helm template as helm-controller would "
            "(the pinned helm, else helm >= 3.16 on PATH; charts vendored or fetched by `ocw charts pull`), then "
            "validate the objects and what the charts render against their schemas, cross-check references and "
            "apply the project's rules to the workspace apps. Variables come from the repository's own "
            "substituteFrom sources, then --vars. Rules: docs/check-rules.md."
        ),
        epilog=(
            "Exit codes: 0 no errors, 1 errors found, 2 could not run (missing kubectl/kustomize or helm, schema "
            "directory or input, nothing for Flux to apply, several clusters and no --cluster)."
        ),
    )
    parser.add_argument("--repo", type=Path, default=Path(), help="the repository to check (default: .)")
    parser.add_argument(
        "--vars",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="cluster variables (YAML map or KEY=value lines); repeatable, later files win "
        "(default: the repository's cluster-vars.example.yaml)",
    )
    parser.add_argument(
        "--schemas",
        type=Path,
        metavar="DIR",
        help="a directory of JSON schemas (crds/<group>/<kind>_<version>.json, app-template-common-<version>/) that "
        "overrides and extends the cached (`ocw schemas update`) and vendored ones; with it, nothing is downloaded",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="report only the Flux Kustomizations NAME names (everything is still built, so that references see "
        "every object): a Kustomization, a target namespace or a folder under kubernetes/apps (e.g. --only "
        "opencode for the workspaces); repeatable",
    )
    parser.add_argument(
        "--cluster",
        metavar="NAME",
        help="the cluster to check where the repository bootstraps several (a folder of its path, e.g. production "
        "for clusters/production)",
    )
    parser.add_argument(
        "--path",
        type=Path,
        metavar="DIR",
        help="start from this folder of the repository, as if a Flux Kustomization built it (instead of the bootstrap)",
    )
    parser.add_argument(
        "--host",
        type=Path,
        metavar="FILE",
        help="a description of the cluster the repository is installed into (objects it relies on that the "
        "repository does not build; format: src/ocw/data/host-cluster.yaml). Default: that built-in description, "
        "only when the repository is that cluster or ocw's own tree",
    )
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument(
        "--kubernetes-version",
        default=DEFAULT_KUBERNETES_VERSION,
        metavar="X.Y",
        help=f"the Kubernetes version whose schemas validate core objects (default: {DEFAULT_KUBERNETES_VERSION})",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    report = run_check(
        args.repo,
        args.vars,
        args.schemas,
        args.only,
        kubernetes_version=args.kubernetes_version,
        host_description=args.host,
        cluster=args.cluster,
        path=args.path,
        progress=stderr_progress,
    )
    print(report.to_json() if args.json else report.to_text())
    return EXIT_OK if report.ok else EXIT_FAILED
