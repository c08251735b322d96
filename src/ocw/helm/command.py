"""`ocw charts`: the charts HelmReleases render with. `pull` fetches those the repository uses into the user cache
(online); `list` shows what is available offline."""

from __future__ import annotations

import argparse
import json

from ocw.cli_options import output_format, repo_path
from ocw.console import Progress, emit
from ocw.errors import EXIT_FAILED, EXIT_OK
from ocw.helm.charts import VENDORED_CHARTS, ChartStore, Resolution, cache_charts_dir
from ocw.helm.pull import PullResult, pull
from ocw.helm.release import ChartProblem, ChartRequest, chart_request
from ocw.kube.manifest import Manifest
from ocw.tree import load_tree

_progress = Progress("charts")


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
    repo = repo_path(args)
    _progress(f"building {repo} to find its HelmReleases")
    tree = load_tree(repo, args.vars)
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
    document = {
        "cache": str(cache_charts_dir()),
        "charts": [r.as_dict() for r in results],
        "not_named": [{"helmrelease": hr.ref, "file": hr.file, "reason": reason} for hr, reason in problems],
    }
    lines = [
        f"{r.status:7} {r.request.chart} {r.version or r.request.version}  {r.request.source.url}: {r.message}"
        for r in results
    ]
    lines += [f"skipped {helmrelease.ref} ({helmrelease.file}): {reason}" for helmrelease, reason in problems]
    failed = sum(1 for r in results if r.status == "failed")
    lines.append(f"{len(results) - failed} of {len(results)} chart(s) available in {cache_charts_dir()} or vendored")
    emit(document, lines, output_format(args))
    return EXIT_FAILED if failed else EXIT_OK


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
    lines = [f"{e['origin']:9} {e['chart']} {e['version']}  {e.get('source') or e['path']}" for e in entries]
    emit({"cache": str(cache), "charts": entries}, lines or ["no charts"], output_format(args))
    return EXIT_OK
