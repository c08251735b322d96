"""What `ocw verify` accepts: its parser and help, built on every `ocw verify` run, so it imports none of the checks
or their HTTP clients (command.py does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ocw.cli_options import add_doppler, add_output, add_repo, add_state_dir, add_vars, add_workspaces, runs
from ocw.verify.github import GITHUB_API
from ocw.verify.registry import PHASES


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check the roadmap's success criteria against the live cluster (or a local workspace)",
        description="Every success criterion of the roadmap is a named check (P1.1 ... P4.4) run against the "
        "cluster in your kube context: pass, fail (what was expected, what was seen, what to try next) or skip "
        "(why). Read-only unless --disruptive. See docs/verify.md.",
        epilog="Exit codes: 0 every selected check passed (skips allowed), 1 a check failed, 2 could not run.",
    )
    parser.add_argument("--context", help="kube context (default: the current context)")
    parser.add_argument("--kubeconfig", type=Path, metavar="PATH", help="kubeconfig (default: KUBECONFIG, ~/.kube)")
    parser.add_argument(
        "--phase", type=int, action="append", choices=PHASES, default=[], help="only this phase; repeat for more"
    )
    add_workspaces(parser)
    parser.add_argument(
        "--disruptive",
        action="store_true",
        help="also delete each workspace pod and change each workspace Secret to prove restarts keep everything",
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, metavar="SECONDS", help="bound of each disruptive wait (300)"
    )
    parser.add_argument(
        "--request-timeout", type=float, default=10.0, metavar="SECONDS", help="bound of each request (10)"
    )
    add_output(parser, "the results")
    add_repo(parser)
    add_vars(parser, "cluster variables (SECRET_DOMAIN), as ocw check reads them")
    parser.add_argument(
        "--connect-to",
        action="append",
        default=[],
        metavar="HOST=ADDR:PORT",
        help="reach HOST at ADDR:PORT, keeping HOST for TLS and the Host header (like curl --connect-to)",
    )
    parser.add_argument("--ca-file", metavar="PEM", help="trust only these CAs for the workspace URLs")
    add_doppler(parser)
    parser.add_argument(
        "--github-api", default=GITHUB_API, metavar="URL", help=f"GitHub REST API base for SEC.2 ({GITHUB_API})"
    )
    parser.add_argument(
        "--prometheus",
        metavar="URL",
        help="the cluster's Prometheus HTTP API for MON.1 (default: through the API server's service proxy to the "
        "Service Prometheus Operator labels operated-prometheus=true)",
    )
    parser.add_argument("--local", metavar="WORKSPACE", help="check a workspace `ocw up` runs on this machine")
    add_state_dir(parser, "ocw up's state dir (default: the repository's)")
    runs(parser, "ocw.verify.command:run")
