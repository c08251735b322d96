"""The `ocw check` command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ocw.check.run import DEFAULT_KUBERNETES_VERSION, run_check
from ocw.cli_options import add_output, add_repo, add_vars, output_format, repo_path
from ocw.console import Progress, emit
from ocw.errors import EXIT_FAILED, EXIT_OK


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check",
        help="validate the GitOps tree offline as Flux would build it",
        description=(
            "Build every Flux Kustomization under kubernetes/apps with kubectl kustomize (the pinned kubectl, else "
            "kubectl >= 1.27 or kustomize >= 5.0 on PATH) and Flux substitution, render every HelmRelease with helm "
            "template (the pinned helm, else helm >= 3.16 on PATH; charts vendored or fetched by `ocw charts pull`), "
            "then validate the objects against their schemas, cross-check references against the host cluster "
            "(src/ocw/data/host-cluster.yaml) and apply the project's rules to the workspace apps. Variables come "
            "from the repository's own substituteFrom sources, then --vars. Rules: docs/check-rules.md."
        ),
        epilog="Exit codes: 0 no errors, 1 errors found, 2 could not run (missing kubectl/kustomize or helm, schema "
        "directory or input).",
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
        help="check and report only the Flux Kustomizations NAME names: a Kustomization, a target namespace or a "
        "folder under kubernetes/apps (e.g. --only opencode for the workspaces); repeatable",
    )
    add_output(parser, "the findings")
    parser.add_argument(
        "--kubernetes-version",
        default=DEFAULT_KUBERNETES_VERSION,
        metavar="X.Y",
        help=f"the Kubernetes version whose schemas validate core objects (default: {DEFAULT_KUBERNETES_VERSION})",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    report = run_check(
        repo_path(args),
        args.vars,
        args.schemas,
        args.only,
        kubernetes_version=args.kubernetes_version,
        progress=Progress("check"),
    )
    fmt = output_format(args)
    emit(json.loads(report.to_json()) if fmt != "text" else None, report.to_text(), fmt)
    return EXIT_OK if report.ok else EXIT_FAILED
