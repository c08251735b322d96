"""What `ocw check` accepts: its parser and help, built on every `ocw check` run, so it imports nothing of the check
itself (command.py does the work)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ocw.cli_options import add_output, add_repo, add_vars, runs
from ocw.kube import DEFAULT_KUBERNETES_VERSION


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
    add_repo(parser)
    add_vars(
        parser,
        "cluster variables (a YAML map, KEY=value lines, or a ConfigMap or decrypted Secret); repeatable, later "
        "files win (default: the repository's substituteFrom sources, else its cluster-vars.example.yaml)",
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
    add_output(parser, "the findings")
    parser.add_argument(
        "--kubernetes-version",
        default=DEFAULT_KUBERNETES_VERSION,
        metavar="X.Y",
        help=f"the Kubernetes version whose schemas validate core objects (default: {DEFAULT_KUBERNETES_VERSION})",
    )
    runs(parser, "ocw.check.command:handle")
