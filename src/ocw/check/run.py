"""`run_check`: the library entry point. Builds the tree as Flux would, adds the host cluster, and runs every rule."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from ocw import toolchain
from ocw.check import doppler_keys, downstream, made_elsewhere, monitoring, namespaces, network, scope, sources
from ocw.check.charts import check_charts, unrendered_charts
from ocw.check.gateway import check_routes
from ocw.check.inventory import Inventory, build_inventory
from ocw.check.pod_security import check_pods
from ocw.check.references import check_references
from ocw.check.report import CheckReport, KustomizationSummary
from ocw.check.rules import RULES
from ocw.check.setting_source import SettingSources
from ocw.check.workspace_rules import check_workspaces
from ocw.errors import OcwError
from ocw.findings import Finding, Severity
from ocw.flux.build import BuiltKustomization
from ocw.flux.graph import apply_scopes
from ocw.helm.capabilities import cluster_capabilities
from ocw.install.host import HOST_DESCRIPTION, HOST_FILE, NO_HOST, applies, host_objects, load_host
from ocw.install.manifests import COMPONENT
from ocw.install.manifests import locate as locate_tree
from ocw.kube import DEFAULT_KUBERNETES_VERSION
from ocw.kube.manifest import Manifest
from ocw.schemas.catalog import SchemaCatalog
from ocw.schemas.download import APP_TEMPLATE_COMMON_VERSION
from ocw.schemas.validation import SchemaValidation
from ocw.tree import Tree, load_tree

__all__ = ["DEFAULT_KUBERNETES_VERSION", "run_check"]

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def run_check(
    repo: Path,
    var_files: Sequence[Path] = (),
    schemas_dir: Path | None = None,
    only: Sequence[str] | None = None,
    *,
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
    host_description: Path | None = None,
    cluster: str | None = None,
    path: Path | None = None,
    progress: Progress = _quiet,
    on_tree: Callable[[Tree], None] | None = None,
) -> CheckReport:
    """Check the repository at repo as Flux would apply it. `only` narrows the report (never the build: links see
    every object) to the Flux Kustomizations it names (by name, target namespace or folder under kubernetes/apps, e.g.
    one workspace or `opencode`) and the files in their folders. `host_description` applies a description of the
    cluster the repository is installed into (default: the built-in one, when the repository is that cluster or ocw's
    own tree). `cluster` and `path` choose where Flux starts. `on_tree` is handed the tree once it is built, for a
    caller that reads the same tree (it is not loaded twice). Raises OcwError when the check cannot run at all."""
    if schemas_dir is not None and not schemas_dir.is_dir():
        raise OcwError(
            f"--schemas expects a directory with crds/<group>/<kind>_<version>.json, found nothing at {schemas_dir}",
            hint="pass a directory in that layout, or leave --schemas out to use the vendored and cached schemas",
        )
    progress(f"following Flux's graph, building with {toolchain.kustomizer().describe()}")
    # The builds are kubectl processes: the file rules and schema loading run meanwhile instead of after them.
    with ThreadPoolExecutor(max_workers=1) as background:
        building = background.submit(load_tree, repo, var_files, only, cluster=cluster, path=path)
        catalog = SchemaCatalog(schemas_dir)
        host = load_host(host_description or HOST_DESCRIPTION)
        files = sources.tree_files(repo.resolve())
        file_findings = sources.check_files(files)
        tree = building.result()
    if on_tree is not None:
        on_tree(tree)
    # One collection of CRDs: the repository's, joined by the charts' as they render (custom kinds are validated
    # after that).
    validation = SchemaValidation(catalog, kubernetes_version, tree.crds)
    if host_description is None and not applies(host, tree.repository_urls, _is_ocws_tree(tree)):
        host = NO_HOST
    manifests = list(tree.manifests())
    installed = host_objects(host, tree.repo, tree.cluster_vars, manifests, [b.kustomization.name for b in tree.built])
    releases = sum(1 for m in manifests if m.kind == "HelmRelease")
    if releases:
        progress(f"rendering {releases} HelmRelease(s) with {toolchain.helm().describe()}")
    capabilities = cluster_capabilities([*manifests, *installed.manifests], kubernetes_version, catalog)
    written = [*manifests, *installed.manifests]
    # The renders are helm processes: the objects of built-in kinds, whose schemas no CRD can replace, are validated
    # meanwhile.
    with ThreadPoolExecutor(max_workers=1) as background:
        rendering = background.submit(build_inventory, manifests, installed.manifests, capabilities, tree.crds)
        progress(f"validating {len(written)} objects of {len(tree.built)} Flux Kustomizations")
        findings: list[Finding] = [*tree.all_findings(), *installed.findings]
        findings.extend(validation.check(m for m in written if validation.is_core(m)))
        inventory = rendering.result()
    # The charts' CRDs may tell the scope of kinds the repository uses: those objects move, and are found there.
    findings.extend(apply_scopes(tree.built, tree.crds))
    inventory.reindex()
    progress(f"validating {len(inventory.rendered)} rendered objects and the custom resources")
    later = [*(m for m in written if not validation.is_core(m)), *inventory.rendered]
    findings.extend(validation.check(later, (r.helmrelease for r in inventory.releases if r.is_app_template)))
    findings.extend(file_findings)
    findings.extend(check_charts(inventory))
    app_template_files = {r.helmrelease.file for r in inventory.releases if r.is_app_template}
    findings.extend(sources.check_schema_comments(files, app_template_files))
    findings.extend(sources.check_built(manifests, files, sources.script_sources(files)))
    findings.extend(sources.check_commands(inventory.releases))
    findings.extend(check_routes(inventory, host))
    findings.extend(check_references(inventory, tree.kustomizations, host))
    findings.extend(
        check_pods(inventory, toolchain.pinned_opencode_version, pins_opencode=toolchain.pins_opencode(tree.repo))
    )
    findings.extend(check_workspaces(inventory, SettingSources(tree.repo, tree.kustomizations)))
    findings.extend(network.check_network(tree, inventory))
    workspace = scope.workspace_area(tree.built, installed.installed_files)
    findings.extend(namespaces.check_prune_guard(tree.repo, tree.built, workspace))
    findings.extend(doppler_keys.check_drift(tree, workspace, files))
    findings.extend(monitoring.check_monitoring(tree, inventory))

    unknown = {f.rule for f in findings} - set(RULES)
    if unknown:  # every rule must be documented; an undocumented id is a bug here, not in the tree
        raise OcwError(f"internal: findings with undocumented rule ids {sorted(unknown)}")
    findings = downstream.without_consequences(findings, tree.built)
    findings = scope.keep_in_scope(findings, workspace)
    if not workspace.kustomizations:
        # A repository without the workspaces installed yet has nothing to install into its host apps.
        # Nor does the host description (the workspaces' cluster) say anything about it.
        findings = [f for f in findings if f.rule != "host-install" and f.file != HOST_FILE]
    findings = _with_owners(findings, manifests)
    findings = made_elsewhere.soften(findings, inventory, workspace.kustomizations, tree.repo)
    findings = _missing_schemas_by_kind(findings, workspace, unrendered_charts(inventory))
    findings = _newer_chart_fields(findings, workspace, _newer_major_releases(inventory))
    shown = tree.built
    if only is not None:
        selected = {ks.id for ks in tree.selected}
        shown = [b for b in tree.built if b.kustomization.id in selected]
        findings = scope.narrow(findings, scope.selected_area(shown, only))
    unique = sorted(set(findings), key=lambda f: (f.file, f.line or 0, f.rule, f.object, f.message))
    return CheckReport(
        repo=tree.repo,
        findings=unique,
        var_files=tree.var_files,
        var_sources=list(tree.repo_vars.used),
        schemas=validation.custom.catalog.describe(),
        kubernetes_version=validation.core.version,
        kustomizations=[b.kustomization.name for b in shown],
        objects_validated=validation.validated,
        objects_without_schema=validation.without_schema,
        per_kustomization=_per_kustomization(shown, unique),
        entry=_entry(tree),
        host=host.repository if host is not NO_HOST else None,
    )


def _is_ocws_tree(tree: Tree) -> bool:
    """The tree ocw ships, on its own: ocw's checkout, or a repository holding the workspace component with no
    cluster's bootstrap around it (a copy or clone of the tree). It is made for the cluster the built-in
    description describes."""
    try:
        if locate_tree().root.resolve() == tree.repo:
            return True
    except OcwError:
        pass
    return tree.bootstrap is None and (tree.repo / COMPONENT).is_dir()


def _entry(tree: Tree) -> str:
    if tree.bootstrap is not None:
        return f"{tree.bootstrap.form} {tree.bootstrap.file} ({tree.bootstrap.label})"
    roots = [ks for ks in tree.kustomizations if ks.applied_by is None]
    return ", ".join(ks.path.removeprefix("./") for ks in roots[:4]) + (" ..." if len(roots) > 4 else "")


def _missing_schemas_by_kind(findings: list[Finding], workspace: scope.Area, unrendered: list[str]) -> list[Finding]:
    """A missing schema is an error for the workspace apps; elsewhere a warning with one message per kind (one cause,
    with its count and places), so that a repository full of custom resources still gets a readable report. While
    some charts could not be rendered, the CRD may well be one of theirs: then it is that warning everywhere, saying
    so."""
    kept: list[Finding] = []
    by_kind: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.rule != "schema-missing" or (finding.owner in workspace.kustomizations and not unrendered):
            kept.append(finding)
        else:
            by_kind.setdefault(finding.message, []).append(finding)
    maybe = (
        f"; its CRD may come from a chart ocw could not render ({len(unrendered)}: {', '.join(unrendered[:3])}"
        f"{', ...' if len(unrendered) > 3 else ''})"
        if unrendered
        else ""
    )
    for message, group in by_kind.items():
        where = "" if any(f.owner in workspace.kustomizations for f in group) else " (outside the workspace apps)"
        note = f"not validated{where}: {message}{maybe}"
        kept.extend(replace(f, message=note, severity=Severity.WARNING) for f in group)
    return kept


def _newer_major_releases(inventory: Inventory) -> set[str]:
    """The app-template releases that ask for a newer major version than the common values schema available."""
    schema_major = int(APP_TEMPLATE_COMMON_VERSION.split(".")[0])
    newer: set[str] = set()
    for release in inventory.releases:
        request = release.outcome.request
        major = re.match(r"[v^~=>\s]*(\d+)\.", request.version) if request is not None else None
        if release.is_app_template and major and int(major.group(1)) > schema_major:
            newer.add(release.helmrelease.ref)
    return newer


def _newer_chart_fields(findings: list[Finding], workspace: scope.Area, newer_major: set[str]) -> list[Finding]:
    """Outside the workspace apps (whose chart version ocw pins), a value the available common values schema does not
    know may be a field of the newer app-template the release uses, and a release of a newer major version is not
    described by that schema at all: warnings, not errors."""
    result: list[Finding] = []
    for finding in findings:
        outside = finding.rule == "schema-values" and finding.owner not in workspace.kustomizations
        if outside and finding.object in newer_major:
            note = (
                f" (the release uses a newer major version of app-template than the common values schema available, "
                f"{APP_TEMPLATE_COMMON_VERSION}: its values may well be right)"
            )
        elif outside and "Additional properties are not allowed" in finding.message:
            note = (
                f" (the common values schema available is {APP_TEMPLATE_COMMON_VERSION}; a newer chart may accept it)"
            )
        else:
            result.append(finding)
            continue
        result.append(replace(finding, message=finding.message + note, severity=Severity.WARNING))
    return result


def _with_owners(findings: list[Finding], manifests: Sequence[Manifest]) -> list[Finding]:
    """Findings of the Flux build (about a Kustomization, or an object by its ref) get their owner here; every other
    finding was made with it."""
    by_ref = {m.ref: m.kustomization for m in manifests}
    result = []
    for finding in findings:
        owner = finding.owner
        if owner is None and finding.object in by_ref:
            owner = by_ref[finding.object]
        elif owner is None and finding.object.startswith("Kustomization/"):
            # A finding about a Flux Kustomization (its build, its source, its dependsOn) is its own.
            owner = finding.object.split(" ", 1)[0].rsplit("/", 1)[-1]
        result.append(finding if owner == finding.owner else replace(finding, owner=owner))
    return result


def _per_kustomization(built: Sequence[BuiltKustomization], findings: list[Finding]) -> list[KustomizationSummary]:
    """One line per built Flux Kustomization: its namespace, how many objects it builds, its errors and warnings."""
    errors: dict[str, int] = {}
    warnings: dict[str, int] = {}
    for finding in findings:
        owner = finding.owner
        if owner is not None:
            tally = errors if finding.severity == Severity.ERROR else warnings
            tally[owner] = tally.get(owner, 0) + 1
    summaries = [
        KustomizationSummary(
            name=b.kustomization.name,
            namespace=str(b.kustomization.target_namespace or ""),
            objects=len(b.manifests),
            errors=errors.get(b.kustomization.name, 0),
            warnings=warnings.get(b.kustomization.name, 0),
        )
        for b in built
    ]
    # A ks.yaml that does not parse defines Kustomizations nobody can name: it is listed as failed by its file.
    unparsed: dict[str, int] = {}
    for finding in findings:
        if finding.rule == "yaml-strict" and finding.file.endswith("/ks.yaml") and finding.owner is None:
            unparsed[finding.file] = unparsed.get(finding.file, 0) + 1
    return summaries + [KustomizationSummary(file, "", 0, count, 0) for file, count in sorted(unparsed.items())]
