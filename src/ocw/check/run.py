"""`run_check`: the library entry point. Builds the tree as Flux would, adds the host cluster, and runs every rule."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from ocw import toolchain
from ocw.check import doppler_keys, downstream, links, made_elsewhere, namespaces, policy, scope, sources
from ocw.check.catalog import SchemaCatalog
from ocw.check.host import HOST_DESCRIPTION, HOST_FILE, NO_HOST, applies, host_objects, load_host
from ocw.check.inventory import Inventory, build_inventory
from ocw.check.report import CheckReport, KustomizationSummary
from ocw.check.rules import RULES
from ocw.check.schema_download import APP_TEMPLATE_COMMON_VERSION
from ocw.check.schemas import SchemaValidation
from ocw.errors import OcwError
from ocw.findings import Finding, Severity
from ocw.flux.build import BuiltKustomization
from ocw.install.manifests import COMPONENT
from ocw.install.manifests import locate as locate_tree
from ocw.tree import Tree, load_tree

DEFAULT_KUBERNETES_VERSION = "1.35"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def stderr_progress(message: str) -> None:
    print(f"ocw check: {message}", file=sys.stderr, flush=True)


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
) -> CheckReport:
    """Check the repository at repo as Flux would apply it. `only` narrows the report (never the build: links see
    every object) to the Flux Kustomizations it names (by name, target namespace or folder under kubernetes/apps, e.g.
    one workspace or `opencode`) and the files in their folders. `host_description` applies a description of the
    cluster the repository is installed into (default: the built-in one, when the repository is that cluster or ocw's
    own tree). `cluster` and `path` choose where Flux starts. Raises OcwError when the check cannot run at all."""
    if schemas_dir is not None and not schemas_dir.is_dir():
        raise OcwError(
            f"--schemas expects a directory with crds/<group>/<kind>_<version>.json, found nothing at {schemas_dir}",
            hint="pass a directory in that layout, or leave --schemas out to use the vendored and cached schemas",
        )
    progress(f"following Flux's graph, building with {toolchain.kustomizer().describe()}")
    # The builds are kubectl processes: the file rules and schema loading run meanwhile instead of after them.
    with ThreadPoolExecutor(max_workers=1) as background:
        building = background.submit(load_tree, repo, var_files, only, cluster=cluster, path=path)
        host = load_host(host_description or HOST_DESCRIPTION)
        files = sources.tree_files(repo.resolve())
        file_findings = sources.check_files(files)
        tree = building.result()
    validation = SchemaValidation(SchemaCatalog(schemas_dir), kubernetes_version, tree.crds)
    if host_description is None and not applies(host, tree.repository_urls, _is_ocws_tree(tree)):
        host = NO_HOST
    manifests = list(tree.manifests())
    installed = host_objects(host, tree.repo, tree.cluster_vars, manifests, [b.kustomization.name for b in tree.built])
    inventory = build_inventory(manifests, installed.manifests)
    rendered = made_elsewhere.app_template_objects(inventory.releases)
    if rendered:  # what app-template makes from configMaps/secrets values, for the links to see
        inventory = build_inventory(manifests, [*installed.manifests, *rendered])

    progress(f"validating {len(inventory.all)} objects of {len(tree.built)} Flux Kustomizations")
    findings: list[Finding] = [*tree.all_findings(), *installed.findings]
    findings.extend(validation.check(inventory))
    findings.extend(file_findings)
    app_template_files = {r.helmrelease.file for r in inventory.releases} | {h.file for h, _ in inventory.unrenderable}
    findings.extend(sources.check_schema_comments(files, app_template_files))
    findings.extend(sources.check_built(manifests, files, sources.script_sources(files)))
    findings.extend(sources.check_commands(inventory.releases))
    findings.extend(links.check_links(inventory, tree.kustomizations, host))
    findings.extend(policy.check_policy(inventory, toolchain.pinned_opencode_version))
    workspace = scope.workspace_area(tree.built, installed.installed_files)
    findings.extend(namespaces.check_prune_guard(tree.repo, tree.built, workspace))
    findings.extend(doppler_keys.check_drift(tree, workspace, files))

    unknown = {f.rule for f in findings} - set(RULES)
    if unknown:  # every rule must be documented; an undocumented id is a bug here, not in the tree
        raise OcwError(f"internal: findings with undocumented rule ids {sorted(unknown)}")
    findings = downstream.without_consequences(findings, tree.built)
    findings = scope.keep_in_scope(findings, workspace)
    if not workspace.kustomizations:
        # A repository without the workspaces installed yet has nothing to install into its host apps.
        # Nor does the host description (the workspaces' cluster) say anything about it.
        findings = [f for f in findings if f.rule != "host-install" and f.file != HOST_FILE]
    owners = _owners(findings, manifests)
    findings = made_elsewhere.soften(findings, inventory, owners, workspace.kustomizations, tree.repo)
    findings = _missing_schemas_by_kind(findings, owners, workspace)
    findings = _newer_chart_fields(findings, owners, workspace, _newer_major_releases(inventory))
    shown = tree.built
    if only is not None:
        selected = {ks.id for ks in tree.selected}
        shown = [b for b in tree.built if b.kustomization.id in selected]
        findings = scope.narrow(findings, owners, scope.selected_area(shown, only))
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
        owners=owners,
        per_kustomization=_per_kustomization(shown, owners, unique),
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


def _missing_schemas_by_kind(
    findings: list[Finding], owners: dict[Finding, str], workspace: scope.Area
) -> list[Finding]:
    """A missing schema is an error for the workspace apps; elsewhere one warning per kind says how many objects
    went unvalidated, so that a repository full of custom resources still gets a readable report."""
    kept: list[Finding] = []
    by_kind: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.rule != "schema-missing" or owners.get(finding) in workspace.kustomizations:
            kept.append(finding)
        else:
            by_kind.setdefault(finding.message, []).append(finding)
    for message, group in by_kind.items():
        first = min(group, key=lambda f: (f.file, f.object))
        count = len(group)
        summary = Finding(
            first.file,
            "schema-missing",
            first.object if count == 1 else f"{first.object} and {count - 1} more",
            f"{count} object(s) not validated (outside the workspace apps): {message}",
            severity=Severity.WARNING,
        )
        kept.append(summary)
        if first in owners:
            owners[summary] = owners[first]
    return kept


def _newer_major_releases(inventory: Inventory) -> set[str]:
    """The app-template releases whose chart (its OCIRepository's ref.tag) is of a newer major version than the
    common values schema available."""
    newer: set[str] = set()
    schema_major = int(APP_TEMPLATE_COMMON_VERSION.split(".")[0])
    for release in inventory.releases:
        helmrelease = release.helmrelease
        ref = (helmrelease.obj.get("spec") or {}).get("chartRef") or {}
        namespace = str(ref.get("namespace") or helmrelease.namespace)
        source = inventory.get(str(ref.get("kind", "OCIRepository")), namespace, str(ref.get("name")))
        tag = str((((source.obj.get("spec") or {}).get("ref") or {}).get("tag")) or "") if source else ""
        major = re.match(r"v?(\d+)\.", tag)
        if major and int(major.group(1)) > schema_major:
            newer.add(helmrelease.ref)
    return newer


def _newer_chart_fields(
    findings: list[Finding], owners: dict[Finding, str], workspace: scope.Area, newer_major: set[str]
) -> list[Finding]:
    """Outside the workspace apps (whose chart version ocw pins), a value the available common values schema does not
    know may be a field of the newer app-template the release uses, and a release of a newer major version is not
    described by that schema at all: warnings, not errors."""
    result: list[Finding] = []
    for finding in findings:
        outside = finding.rule == "schema-values" and owners.get(finding) not in workspace.kustomizations
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
        changed = replace(finding, message=finding.message + note, severity=Severity.WARNING)
        owners[changed] = owners.get(finding, "")
        result.append(changed)
    return result


_RENDERED_FROM = re.compile(r"\(rendered from (\S+)")


def _owners(findings: list[Finding], manifests: Sequence[object]) -> dict[Finding, str]:
    by_ref: dict[str, str] = {}
    for manifest in manifests:
        ref = getattr(manifest, "ref", None)
        if ref:
            by_ref[ref] = str(getattr(manifest, "kustomization", ""))
    owners: dict[Finding, str] = {}
    for finding in findings:
        ref = finding.object.split(" ", 1)[0]
        rendered = _RENDERED_FROM.search(finding.object)  # a route app-template renders belongs to its release
        if finding.object.startswith("Kustomization/"):
            # A finding about a Flux Kustomization (its build, its source, its dependsOn) is its own.
            owners[finding] = ref.rsplit("/", 1)[-1]
        elif ref in by_ref:
            owners[finding] = by_ref[ref]
        elif rendered and rendered.group(1) in by_ref:
            owners[finding] = by_ref[rendered.group(1)]
    return owners


def _per_kustomization(
    built: Sequence[BuiltKustomization], owners: dict[Finding, str], findings: list[Finding]
) -> list[KustomizationSummary]:
    """One line per built Flux Kustomization: its namespace, how many objects it builds, its errors and warnings."""
    errors: dict[str, int] = {}
    warnings: dict[str, int] = {}
    for finding in findings:
        owner = owners.get(finding)
        if owner is not None:
            tally = errors if finding.severity == Severity.ERROR else warnings
            tally[owner] = tally.get(owner, 0) + 1
    return [
        KustomizationSummary(
            name=b.kustomization.name,
            namespace=str(b.kustomization.target_namespace or ""),
            objects=len(b.manifests),
            errors=errors.get(b.kustomization.name, 0),
            warnings=warnings.get(b.kustomization.name, 0),
        )
        for b in built
    ]
