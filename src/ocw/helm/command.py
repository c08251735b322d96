"""`ocw charts`: the charts HelmReleases render with. `pull` fetches those the repository uses into the user cache
(online); `list` shows what is available offline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ocw.errors import EXIT_FAILED, EXIT_OK
from ocw.helm.charts import VENDORED_CHARTS, ChartStore, Resolution, cache_charts_dir
from ocw.helm.pull import PullResult, pull
from ocw.helm.release import ChartProblem, ChartRequest, chart_request
from ocw.kube.manifest import Manifest
from ocw.tree import load_tree


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "charts",
        help="fetch and list the Helm charts HelmReleases render with",
        description=(
            "ocw check and ocw up render HelmReleases with the charts vendored in ocw (app-template) and those in "
            "the user cache (~/.cache/ocw/charts). `pull` fetches every chart the repository's HelmReleases use, in "
            "the version they ask for, from their OCIRepository or HelmRepository URLs; `list` shows what is there."
        ),
        epilog="Exit codes: 0 every chart is available, 1 some could not be fetched, 2 could not run.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    pull_parser = actions.add_parser("pull", help="fetch the charts the repository's HelmReleases use")
    pull_parser.add_argument("--repo", type=Path, default=Path(), help="the repository (default: .)")
    pull_parser.add_argument(
        "--vars", type=Path, action="append", default=[], metavar="FILE", help="cluster variables, as for ocw check"
    )
    pull_parser.add_argument("--json", action="store_true", help="print the outcome per chart as JSON")
    pull_parser.set_defaults(handler=handle_pull)
    list_parser = actions.add_parser("list", help="the vendored and cached charts")
    list_parser.add_argument("--json", action="store_true", help="print them as JSON")
    list_parser.set_defaults(handler=handle_list)


def _progress(message: str) -> None:
    print(f"ocw charts: {message}", file=sys.stderr, flush=True)


def requests_of(manifests: list[Manifest]) -> tuple[list[ChartRequest], list[tuple[Manifest, str]]]:
    """The distinct charts the HelmReleases ask for, and the HelmReleases whose chart cannot be named."""
    index = {(m.kind, m.namespace or "", m.name): m for m in manifests}
    requests: dict[tuple[str, str, str | None], ChartRequest] = {}
    problems: list[tuple[Manifest, str]] = []
    for helmrelease in (m for m in manifests if m.kind == "HelmRelease"):
        found = chart_request(helmrelease, lambda kind, ns, name: index.get((kind, ns or "", name)))
        if isinstance(found, ChartProblem):
            problems.append((helmrelease, found.message))
        else:
            requests.setdefault((found.oci_reference, found.version, found.digest), found)
    return list(requests.values()), problems


def handle_pull(args: argparse.Namespace) -> int:
    _progress(f"building {args.repo} to find its HelmReleases")
    tree = load_tree(args.repo, args.vars)
    requests, problems = requests_of(list(tree.manifests()))
    store = ChartStore()
    results: list[PullResult] = []
    for request in requests:
        resolved = store.resolve(request)
        if isinstance(resolved, Resolution) and resolved.note is None:
            chart = resolved.chart
            results.append(
                PullResult(request, "cached", chart.version, chart.path, f"{chart.origin}, nothing to fetch")
            )
            continue
        _progress(f"pulling {request.describe()}")
        results.append(pull(request))
    if args.json:
        document = {
            "cache": str(cache_charts_dir()),
            "charts": [r.as_dict() for r in results],
            "not_named": [{"helmrelease": hr.ref, "file": hr.file, "reason": reason} for hr, reason in problems],
        }
        print(json.dumps(document, indent=2))
    else:
        for result in results:
            version = result.version or result.request.version
            print(f"{result.status:7} {result.request.chart} {version}  {result.request.source.url}: {result.message}")
        for helmrelease, reason in problems:
            print(f"skipped {helmrelease.ref} ({helmrelease.file}): {reason}")
        failed = sum(1 for r in results if r.status == "failed")
        print(f"{len(results) - failed} of {len(results)} chart(s) available in {cache_charts_dir()} or vendored")
    return EXIT_FAILED if any(r.status == "failed" for r in results) else EXIT_OK


def handle_list(args: argparse.Namespace) -> int:
    entries: list[dict[str, str]] = []
    for folder in sorted(VENDORED_CHARTS.glob("*/Chart.yaml")):
        name, _, version = folder.parent.name.rpartition("-")
        entries.append({"chart": name, "version": version, "origin": "vendored", "path": str(folder.parent)})
    cache = cache_charts_dir()
    for metadata in sorted(cache.glob("*/*.json")) if cache.is_dir() else []:
        try:
            document = json.loads(metadata.read_text())
        except ValueError:
            continue
        name = metadata.stem.rsplit("-", 1)[0]
        entries.append(
            {
                "chart": name,
                "version": str(document.get("version", "")),
                "origin": "cache",
                "path": str(metadata.with_suffix(".tgz")),
                "source": str(document.get("source", "")),
            }
        )
    if args.json:
        print(json.dumps({"cache": str(cache), "charts": entries}, indent=2))
    else:
        for entry in entries:
            print(f"{entry['origin']:9} {entry['chart']} {entry['version']}  {entry.get('source') or entry['path']}")
        if not entries:
            print("no charts")
    return EXIT_OK
