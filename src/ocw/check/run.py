"""`run_check`: the library entry point. Builds the tree as Flux would, adds the host cluster, and runs every rule."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ocw import toolchain
from ocw.check import links, policy, sources
from ocw.check.catalog import SchemaCatalog
from ocw.check.host import HOST_DESCRIPTION, host_objects, load_host
from ocw.check.inventory import build_inventory
from ocw.check.report import CheckReport
from ocw.check.rules import RULES
from ocw.check.schemas import SchemaValidation
from ocw.errors import OcwError
from ocw.findings import Finding
from ocw.tree import load_tree

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
    """Check the tree at repo. `only` limits the build to the named Flux Kustomizations (e.g. one workspace);
    the file rules still cover the whole tree. Raises OcwError when the check cannot run at all."""
    if schemas_dir is not None and not schemas_dir.is_dir():
        raise OcwError(
            f"--schemas expects a directory with crds/<group>/<kind>_<version>.json, found nothing at {schemas_dir}",
            hint="pass the schemas directory (e.g. ../shared/schemas), or leave --schemas out to use the cache",
        )
    progress("building the Flux Kustomizations with kubectl kustomize")
    # The builds are kubectl processes: the file rules and schema loading run meanwhile instead of after them.
    with ThreadPoolExecutor(max_workers=1) as background:
        building = background.submit(load_tree, repo, var_files, only)
        validation = SchemaValidation(SchemaCatalog(schemas_dir), kubernetes_version)
        host = load_host(host_description)
        files = sources.tree_files(repo.resolve())
        file_findings = sources.check_files(files)
        tree = building.result()
    manifests = list(tree.manifests())
    installed = host_objects(host, tree.repo, tree.cluster_vars, manifests, [ks.name for ks in tree.kustomizations])
    inventory = build_inventory(manifests, installed.manifests)

    progress(f"validating {len(inventory.all)} objects")
    findings: list[Finding] = [*tree.all_findings(), *installed.findings]
    findings.extend(validation.check(inventory))
    findings.extend(file_findings)
    findings.extend(sources.check_built(manifests, files, sources.script_sources(files)))
    findings.extend(sources.check_commands(inventory.releases))
    findings.extend(links.check_links(inventory, tree.kustomizations, host))
    findings.extend(policy.check_policy(inventory, toolchain.pinned_opencode_version))

    unknown = {f.rule for f in findings} - set(RULES)
    if unknown:  # every rule must be documented; an undocumented id is a bug here, not in the tree
        raise OcwError(f"internal: findings with undocumented rule ids {sorted(unknown)}")
    unique = sorted(set(findings), key=lambda f: (f.file, f.line or 0, f.rule, f.object, f.message))
    owners = _owners(unique, manifests)
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
    )


def _owners(findings: list[Finding], manifests: Sequence[object]) -> dict[Finding, str]:
    by_ref: dict[str, str] = {}
    for manifest in manifests:
        ref = getattr(manifest, "ref", None)
        if ref:
            by_ref[ref] = str(getattr(manifest, "kustomization", ""))
    owners: dict[Finding, str] = {}
    for finding in findings:
        ref = finding.object.split(" ", 1)[0]
        if ref in by_ref:
            owners[finding] = by_ref[ref]
        elif finding.object.startswith("Kustomization/"):
            owners[finding] = finding.object.removeprefix("Kustomization/")
    return owners
