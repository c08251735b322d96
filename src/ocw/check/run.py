"""`run_check`: the library entry point. Builds the tree as Flux would, adds the host cluster, and runs every rule."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from ocw import toolchain
from ocw.check import doppler_keys, links, namespaces, network, policy, scope, sources
from ocw.check.catalog import SchemaCatalog
from ocw.check.host import HOST_DESCRIPTION, HOST_FILE, host_objects, load_host
from ocw.check.inventory import build_inventory
from ocw.check.report import CheckReport, KustomizationSummary
from ocw.check.rules import RULES
from ocw.check.schema_download import APP_TEMPLATE_COMMON_VERSION
from ocw.check.schemas import SchemaValidation
from ocw.errors import OcwError
from ocw.findings import Finding, Severity
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
    host_description: Path = HOST_DESCRIPTION,
    progress: Progress = _quiet,
) -> CheckReport:
    """Check the tree at repo. `only` limits the build and the report to the Flux Kustomizations it names (by name,
    target namespace or folder under kubernetes/apps, e.g. one workspace or `opencode`) and the files in their
    folders. Raises OcwError when the check cannot run at all."""
    if schemas_dir is not None and not schemas_dir.is_dir():
        raise OcwError(
            f"--schemas expects a directory with crds/<group>/<kind>_<version>.json, found nothing at {schemas_dir}",
            hint="pass a directory in that layout, or leave --schemas out to use the vendored and cached schemas",
        )
    progress(f"building the Flux Kustomizations with {toolchain.kustomizer().describe()}")
    # The builds are kubectl processes: the file rules and schema loading run meanwhile instead of after them.
    with ThreadPoolExecutor(max_workers=1) as background:
        building = background.submit(load_tree, repo, var_files, only)
        validation = SchemaValidation(SchemaCatalog(schemas_dir), kubernetes_version)
        host = load_host(host_description)
        files = sources.tree_files(repo.resolve())
        file_findings = sources.check_files(files)
        tree = building.result()
    manifests = list(tree.manifests())
    # Only what was built replaces the host description: with --only, the host apps come from the description.
    installed = host_objects(host, tree.repo, tree.cluster_vars, manifests, [b.kustomization.name for b in tree.built])
    inventory = build_inventory(manifests, installed.manifests)

    progress(f"validating {len(inventory.all)} objects")
    findings: list[Finding] = [*tree.all_findings(), *installed.findings]
    findings.extend(validation.check(inventory))
    findings.extend(file_findings)
    app_template_files = {r.helmrelease.file for r in inventory.releases} | {h.file for h, _ in inventory.unrenderable}
    findings.extend(sources.check_schema_comments(files, app_template_files))
    findings.extend(sources.check_built(manifests, files, sources.script_sources(files)))
    findings.extend(sources.check_commands(inventory.releases))
    findings.extend(links.check_links(inventory, tree.kustomizations, host))
    findings.extend(policy.check_policy(inventory, toolchain.pinned_opencode_version))
    findings.extend(network.check_network(tree))
    workspace = scope.workspace_area(tree.built, installed.installed_files)
    findings.extend(namespaces.check_prune_guard(tree.repo, tree.built, workspace))
    findings.extend(doppler_keys.check_drift(tree, workspace, files))

    unknown = {f.rule for f in findings} - set(RULES)
    if unknown:  # every rule must be documented; an undocumented id is a bug here, not in the tree
        raise OcwError(f"internal: findings with undocumented rule ids {sorted(unknown)}")
    findings = scope.keep_in_scope(findings, workspace)
    if not workspace.kustomizations:
        # A repository without the workspaces installed yet has nothing to install into its host apps.
        # Nor does the host description (the workspaces' cluster) say anything about it.
        findings = [f for f in findings if f.rule != "host-install" and f.file != HOST_FILE]
    owners = _owners(findings, manifests)
    findings = _missing_schemas_by_kind(findings, owners, workspace)
    findings = _newer_chart_fields(findings, owners, workspace)
    if only is not None:
        findings = scope.narrow(findings, owners, scope.selected_area(tree.built, only))
    unique = sorted(set(findings), key=lambda f: (f.file, f.line or 0, f.rule, f.object, f.message))
    return CheckReport(
        repo=tree.repo,
        findings=unique,
        var_files=tree.var_files,
        var_sources=tree.repo_vars.global_files(),
        schemas=validation.custom.catalog.describe(),
        kubernetes_version=validation.core.version,
        kustomizations=[b.kustomization.name for b in tree.built],
        objects_validated=validation.validated,
        owners=owners,
        per_kustomization=_per_kustomization(tree, owners, unique),
    )


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


def _newer_chart_fields(findings: list[Finding], owners: dict[Finding, str], workspace: scope.Area) -> list[Finding]:
    """Outside the workspace apps (whose chart version ocw pins), a value the available common values schema does not
    know may be a field of the newer app-template the release uses: a warning, not an error."""
    result: list[Finding] = []
    for finding in findings:
        if (
            finding.rule == "schema-values"
            and "Additional properties are not allowed" in finding.message
            and owners.get(finding) not in workspace.kustomizations
        ):
            note = (
                f" (the common values schema available is {APP_TEMPLATE_COMMON_VERSION}; a newer chart may accept it)"
            )
            changed = replace(finding, message=finding.message + note, severity=Severity.WARNING)
            owners[changed] = owners.get(finding, "")
            result.append(changed)
        else:
            result.append(finding)
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
        if ref in by_ref:
            owners[finding] = by_ref[ref]
        elif rendered and rendered.group(1) in by_ref:
            owners[finding] = by_ref[rendered.group(1)]
        elif finding.object.startswith("Kustomization/"):
            owners[finding] = finding.object.removeprefix("Kustomization/")
    return owners


def _per_kustomization(tree: Tree, owners: dict[Finding, str], findings: list[Finding]) -> list[KustomizationSummary]:
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
        for b in tree.built
    ]
