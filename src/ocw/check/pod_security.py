"""What every pod a release renders must meet: the restricted Pod Security Standard, pinned images, the OpenCode
version ocw tests; and env values of pod specs written in the tree that the API server would refuse."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ocw.check import expectations
from ocw.check.inventory import Inventory, Release, containers
from ocw.errors import OcwError
from ocw.findings import Finding, Severity, about
from ocw.kube.manifest import Manifest, mapping, mappings
from ocw.kube.pod import Workload, image_reference

# Workload kinds whose pod template is written out (not rendered by a chart), and where the template sits.
_POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def check_pods(
    inventory: Inventory, pinned_opencode: Callable[[], str], *, pins_opencode: bool = True
) -> list[Finding]:
    """`pins_opencode`: the repository is the one that pins the OpenCode ocw tests (this project's own, with its
    tools/package.json): there another image tag is an error. In a cluster repository the version is the user's to
    choose, and a difference is a warning."""
    findings: list[Finding] = []
    for release in inventory.releases:
        if release.helmrelease.owner is None:
            continue
        for work in release.workloads:
            findings.extend(_restricted(release, work))
            findings.extend(_images(release, work, pinned_opencode, pins_opencode))
    for manifest in inventory.tree:
        findings.extend(_raw_env_types(manifest))
    return findings


def _restricted(release: Release, work: Workload) -> Iterator[Finding]:
    for where, container in containers(work):
        own = container.security_context
        effective = {**work.security_context, **own}
        user = effective.get("runAsUser")
        if user == 0 or (effective.get("runAsNonRoot") is not True and not (isinstance(user, int) and user > 0)):
            yield about(
                release.helmrelease,
                "pod-security-restricted",
                f"{where} may run as root: set runAsNonRoot: true and a non-zero runAsUser (in "
                f"defaultPodOptions.securityContext or {where}.securityContext)",
            )
        if own.get("allowPrivilegeEscalation") is not False:
            yield about(
                release.helmrelease,
                "pod-security-restricted",
                f"{where}: allowPrivilegeEscalation is not false: set {where}.securityContext.allowPrivilegeEscalation:"
                f" false",
            )
        if "ALL" not in (mapping(own.get("capabilities")).get("drop") or []):
            yield about(
                release.helmrelease,
                "pod-security-restricted",
                f"{where}: capabilities are not dropped: set {where}.securityContext.capabilities.drop: [ALL]",
            )
        if mapping(effective.get("seccompProfile")).get("type") not in ("RuntimeDefault", "Localhost"):
            yield about(
                release.helmrelease,
                "pod-security-restricted",
                f"{where}: no seccomp profile: set seccompProfile.type: RuntimeDefault in "
                f"defaultPodOptions.securityContext",
            )


def _images(
    release: Release, work: Workload, pinned_opencode: Callable[[], str], pins_opencode: bool
) -> Iterator[Finding]:
    for where, container in containers(work):
        repository, tag, digest = image_reference(container.image)
        if not tag and not digest:
            yield about(
                release.helmrelease,
                "image-pinned",
                f"{where}: image {repository} has no tag, so the node pulls whatever `latest` is today: set "
                f"{where}.image.tag to a version",
            )
        elif tag == "latest":
            message = f"{where}: image {repository}:latest is not pinned: use a version tag"
            yield about(release.helmrelease, "image-pinned", message)
        if tag and (repository in expectations.OPENCODE_IMAGES or _is_workspace_image(repository)):
            yield from _opencode_version(release, where, repository, tag, pinned_opencode, pins_opencode=pins_opencode)


def _is_workspace_image(repository: str) -> bool:
    return repository.rsplit("/", 1)[-1] == expectations.WORKSPACE_IMAGE_NAME


def _opencode_version_of(repository: str, tag: str) -> str:
    """The OpenCode version an image tag names: the workspace image's tag may carry a `-<commit>` suffix."""
    version = tag.removeprefix("v")
    return version.split("-", 1)[0] if _is_workspace_image(repository) else version


def _opencode_version(
    release: Release,
    where: str,
    repository: str,
    tag: str,
    pinned_opencode: Callable[[], str],
    *,
    pins_opencode: bool,
) -> Iterator[Finding]:
    try:
        pinned = pinned_opencode()
    except OcwError as exc:
        yield about(
            release.helmrelease,
            "opencode-version",
            f"cannot compare the OpenCode image tag with the pinned version: {exc.message}",
            severity=Severity.WARNING,
        )
        return
    running = _opencode_version_of(repository, tag)
    if running == pinned.removeprefix("v"):
        return
    if pins_opencode:
        yield about(
            release.helmrelease,
            "opencode-version",
            f"{where}: image {repository}:{tag}, but ocw tests OpenCode {pinned} (tools/package.json). Use tag "
            f"{pinned}, or move both pins together",
        )
        return
    yield about(
        release.helmrelease,
        "opencode-version",
        f"{where}: tested with OpenCode {pinned}, running {running} (image {repository}:{tag}, the workspace's "
        f"WORKSPACE_IMAGE_TAG): fine if you chose it; after the rollout `ocw verify` shows whether the workspace "
        f"works (docs/deploy.md#upgrading-opencode)",
        severity=Severity.WARNING,
    )


def go_string(value: Any) -> str:
    """Helm's `toString` of a YAML scalar: booleans lower case, whole floats without a decimal point."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _raw_env_types(manifest: Manifest) -> Iterator[Finding]:
    """Env values of a pod spec written in the tree. app-template renders every env value with `toString | quote`
    (and drops nulls), so its values may be booleans or numbers; a raw pod spec reaches the API server as written,
    and a substituted `true` or `5` there is refused."""
    spec: Any = manifest.obj
    for key in _POD_SPEC_PATHS.get(manifest.kind, ()):
        spec = spec.get(key) if isinstance(spec, dict) else None
    if not isinstance(spec, dict):
        return
    for section in ("initContainers", "containers"):
        for container in mappings(spec.get(section)):
            for entry in mappings(container.get("env")):
                if "value" not in entry or isinstance(entry["value"], str):
                    continue
                value = entry["value"]
                kind = "null" if value is None else type(value).__name__
                yield about(
                    manifest,
                    "env-value-type",
                    f"{section}.{container.get('name')}.env.{entry.get('name')} is a {kind} ({value!r}) after Flux "
                    f"substitution, not a string, and the API server accepts only strings: quote it in the source "
                    f'(value: "{go_string(value)}"); quotes around a ${{VAR}} keep whatever it becomes a string',
                )
