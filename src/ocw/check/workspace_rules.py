"""The project's rules for a workspace release, read from what it renders: one writer, Reloader, the agreed
resources and volume, the password from a Secret, and the hardening of docs/security.md (no service account token,
each container mounts only the Secret keys it reads, the git token only where the push switch allows it, OpenCode on
the workspace's own config); its routes keep long streams open and land on the project."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ocw.check import expectations
from ocw.check.gateway import hostname_domain, traffic_policy
from ocw.check.inventory import Inventory, Release, container_path, containers
from ocw.check.landing import check_landing
from ocw.check.references import secret_keys
from ocw.check.setting_source import SettingSources
from ocw.component import PASSWORD_ENV, is_workspace_release
from ocw.findings import Finding, Severity, about
from ocw.kube.manifest import Manifest, mapping, mappings
from ocw.kube.pod import Container, Workload
from ocw.kube.quantity import quantity

PAT_REMOTE_SUFFIX = "_GITHUB_PAT"
PUSH_KEY = "GIT_PUSH_TOKEN_enabled"  # what WORKSPACE_GIT_PUSH=enabled makes OpenCode's container mount
CONFIG_ENV = "OPENCODE_CONFIG"
REQUIRED_CONFIG = {"share": "disabled", "autoupdate": False}


def check_workspaces(inventory: Inventory, sources: SettingSources | None = None) -> list[Finding]:
    """`sources`: where the workspaces' settings come from (the ks.yaml lines), for findings about a setting."""
    sources = sources or SettingSources(Path())
    findings: list[Finding] = []
    for release in inventory.releases:
        if release.helmrelease.owner is not None and is_workspace_release(release.helmrelease):
            findings.extend(_workspace(inventory, release, sources))
    for route in inventory.routes:
        if route.owner is not None:
            findings.extend(hostname_domain(route))
    return findings


def workload_path(work: Workload) -> str:
    return f"controllers.{work.controller}" if work.controller is not None else f"{work.kind}/{work.name}"


def _workspace(inventory: Inventory, release: Release, sources: SettingSources) -> Iterator[Finding]:
    for work in release.workloads:
        yield from _single_writer(release, work)
        yield from _reloader(release, work)
        yield from _service_account_token(release, work)
        yield from _secret_keys(inventory, release, work)
        main = work.main_container
        if main is not None:
            yield from _resources(release, work, main)
            yield from _password(inventory, release, work, main)
            yield from _opencode_config(inventory, release, work, main)
        yield from _volume(inventory, release, work, sources)
    mains = [main for main in (work.main_container for work in release.workloads) if main is not None]
    working_dir = mains[0].working_dir if mains else None
    for route in release.routes:
        yield from traffic_policy(inventory, release, route)
        yield from check_landing(route, working_dir)


def _single_writer(release: Release, work: Workload) -> Iterator[Finding]:
    where = workload_path(work)
    if work.replicas is not None and work.replicas != 1:
        yield about(
            release.helmrelease,
            "single-writer",
            f"{where}.replicas is {work.replicas!r}: OpenCode's SQLite database takes one writer, set it to 1",
        )
    if work.kind == "Deployment" and work.strategy != "Recreate":
        yield about(
            release.helmrelease,
            "single-writer",
            f"{where}.strategy is {work.strategy}: a rolling update starts the new pod while the old one holds the "  # noqa: S608
            f"database and the RWO volume; set strategy: Recreate",
        )


def _reloader(release: Release, work: Workload) -> Iterator[Finding]:
    where = workload_path(work)
    value = work.annotations.get(expectations.RELOADER_ANNOTATION)
    if value == "true":
        return
    if expectations.RELOADER_ANNOTATION in work.pod_annotations:
        message = (
            f"{expectations.RELOADER_ANNOTATION} is on the pod template ({where}.pod.annotations), where Reloader "
            f"does not look: move it to {where}.annotations"
        )
    elif value is not None:
        message = f'{where}.annotations.{expectations.RELOADER_ANNOTATION} is {value!r}: it must be the string "true"'
    else:
        message = (
            f'{where}.annotations lacks {expectations.RELOADER_ANNOTATION}: "true", so a changed Secret (password, '
            f"Copilot auth) never reaches the pod"
        )
    yield about(release.helmrelease, "ops01-reloader", message)


def _resources(release: Release, work: Workload, main: Container) -> Iterator[Finding]:
    """SEC-05's figures are the defaults. Only a memory limit under what OpenCode was measured to need breaks a promise
    (the workspace is OOM-killed under use): an error. Any other figure of yours is a warning naming SEC-05's."""
    where = f"{container_path(work, main)}.resources"
    for section, expected in expectations.RESOURCES.items():
        actual = mapping(main.resources.get(section))
        for resource, wanted in expected.items():
            value = actual.get(resource)
            amount, agreed = quantity(value), quantity(wanted)
            if value is None or amount is None or agreed is None:
                message = (
                    f"{where}.{section}.{resource} is {'not set' if value is None else repr(value)}: set it to {wanted}"
                )
                yield about(release.helmrelease, "sec05-resources", message)
            elif (section, resource) == ("limits", "memory") and amount < agreed:
                message = (
                    f"{where}.{section}.{resource} is {value}, expected at least {wanted}: OpenCode was OOM-killed at "
                    "512Mi under sustained use (docs/runtime.md)"
                )
                yield about(release.helmrelease, "sec05-resources", message)
            elif amount != agreed:
                message = f"{where}.{section}.{resource} is {value}, SEC-05's figure is {wanted}: fine if you chose it"
                yield about(release.helmrelease, "sec05-resources", message, severity=Severity.WARNING)


def _password(inventory: Inventory, release: Release, work: Workload, main: Container) -> Iterator[Finding]:
    where = f"{container_path(work, main)}.env"
    variable = main.variable(PASSWORD_ENV)
    if variable is not None:
        if variable.secret_ref is not None:
            return
        if variable.value is not None:
            yield about(
                release.helmrelease,
                "password-from-secret",
                f"{where}.{PASSWORD_ENV} is a literal value in git: read it from the workspace Secret "
                f"(valueFrom.secretKeyRef) instead, and change the password",
            )
            return
    for env_from in main.env_from:
        # envFrom names each variable <prefix><key>: only a key that the prefix turns into the variable counts.
        if env_from.kind != "Secret" or not PASSWORD_ENV.startswith(env_from.prefix):
            continue
        _, keys = secret_keys(inventory, work.namespace, env_from.name)
        if keys is None or PASSWORD_ENV.removeprefix(env_from.prefix) in keys:
            return
    yield about(
        release.helmrelease,
        "password-from-secret",
        f"{where} has no {PASSWORD_ENV} from a Secret: OpenCode then serves anyone who finds the URL. "
        f"Add {PASSWORD_ENV}: {{valueFrom: {{secretKeyRef: {{name: <app>-secret, key: {PASSWORD_ENV}}}}}}}",
    )


def _volume(inventory: Inventory, release: Release, work: Workload, sources: SettingSources) -> Iterator[Finding]:
    mounted = {m.volume.name for c in work.all_containers for m in c.mounts}
    claims = [v for v in work.volumes if v.type == "persistentVolumeClaim" and v.name in mounted and v.source]
    if not claims:
        yield about(
            release.helmrelease,
            "sec04-volume",
            "the workspace mounts no persistent volume: clone, sessions and Copilot auth would vanish with the pod",
        )
        return
    for volume in claims:
        pvc = inventory.get("PersistentVolumeClaim", work.namespace, str(volume.source))
        if pvc is None:
            continue  # link-pvc reports it
        yield from _claim(pvc, release, sources)


def _claim(pvc: Manifest, release: Release, sources: SettingSources) -> Iterator[Finding]:
    """SEC-04 promises one writer's volume that holds a clone and its sessions: ReadWriteOnce and at least the minimum
    size. The size (default 5Gi) and the storage class (default ceph-block) are the workspace's settings."""
    spec = pvc.spec
    modes = spec.get("accessModes")
    if list(modes or []) != list(expectations.VOLUME_ACCESS_MODES):
        expected = list(expectations.VOLUME_ACCESS_MODES)
        message = f"workspace volume (PVC {pvc.name}): access modes {modes}, expected {expected}"
        yield about(pvc, "sec04-volume", message, label=release.helmrelease.ref)
    size = mapping(mapping(spec.get("resources")).get("requests")).get("storage")
    amount = quantity(size)
    minimum = quantity(expectations.VOLUME_MIN_SIZE)
    if amount is not None and minimum is not None and amount >= minimum:
        return
    raw = mapping(mapping(pvc.raw_spec.get("resources")).get("requests")).get("storage")
    setting = sources.find(pvc.owner, raw)
    problem = (
        f"workspace volume (PVC {pvc.name}): size {size!r}, expected at least {expectations.VOLUME_MIN_SIZE} "
        f"(default {expectations.VOLUME_SIZE}): a clone with its sessions and Copilot login does not fit in less"
    )
    if setting is None or setting.file is None:
        yield about(pvc, "sec04-volume", problem, label=release.helmrelease.ref)
        return
    yield Finding(
        setting.file,
        "sec04-volume",
        release.helmrelease.ref,
        f"{problem}; it comes from {setting.describe()}",
        line=setting.line,
        owner=pvc.owner,
    )


# --- hardening (docs/security.md) ----------------------------------------------------------------------------------


def _service_account_token(release: Release, work: Workload) -> Iterator[Finding]:
    if work.automount_service_account_token is not False:
        yield about(
            release.helmrelease,
            "sa-token-off",
            f"{workload_path(work)}: automountServiceAccountToken is not false, so every container (and the agent's "
            "shell) can read a Kubernetes API token: set defaultPodOptions.automountServiceAccountToken: false",
        )


def pat_keys(inventory: Inventory, namespace: str | None, secret: str) -> set[str]:
    """Keys of the Secret whose ExternalSecret template reads the GitHub PAT."""
    external = inventory.external_secret(namespace, secret)
    if external is None:
        return set()
    spec = external.spec
    pat_fields = {
        str(d.get("secretKey"))
        for d in mappings(spec.get("data"))
        if str(mapping(d.get("remoteRef")).get("key", "")).endswith(PAT_REMOTE_SUFFIX)
    }
    template = mapping(mapping(mapping(spec.get("target")).get("template")).get("data"))
    if not template:
        return pat_fields
    return {str(k) for k, text in template.items() if any(f".{f}" in str(text) for f in pat_fields)}


def _secret_keys(inventory: Inventory, release: Release, work: Workload) -> Iterator[Finding]:
    namespace = work.namespace
    main = work.main_container
    for where, container in containers(work):
        for env_from in container.env_from:
            if env_from.kind == "Secret":
                yield about(
                    release.helmrelease,
                    "secret-keys-only",
                    f"{where}: envFrom Secret {env_from.name} hands the container every key of it (the PAT, the "
                    "password): read the keys it needs one by one (env valueFrom.secretKeyRef)",
                )
        for mount in container.mounts:
            volume = mount.volume
            if volume.type != "secret" or volume.source is None:
                continue
            if not volume.items:
                yield about(
                    release.helmrelease,
                    "secret-keys-only",
                    f"{where} mounts the whole Secret {volume.source} (volume {volume.name}) at {mount.path}: list "
                    f"the keys it reads under persistence.{volume.name}.items",
                )
                keys = pat_keys(inventory, namespace, volume.source)
            else:
                keys = {key for key, _ in volume.items} & pat_keys(inventory, namespace, volume.source)
            yield from _token_scope(release, where, container, keys=keys, main=main, via=f"volume {volume.name}")
        for variable in container.env:
            if variable.secret_ref is not None:
                ref = variable.secret_ref
                keys = {ref.key} & pat_keys(inventory, namespace, ref.name)
                yield from _token_scope(release, where, container, keys=keys, main=main, via=f"env {variable.name}")


def _token_scope(
    release: Release, where: str, container: Container, *, keys: set[str], main: Container | None, via: str
) -> Iterator[Finding]:
    if container.init or not keys:
        return
    if main is not None and container.name == main.name and keys == {PUSH_KEY}:
        return  # WORKSPACE_GIT_PUSH=enabled: the documented, deliberate exception
    yield about(
        release.helmrelease,
        "git-token-scope",
        f"{where} reads the git token (Secret key {', '.join(sorted(keys))}, through {via}): only the init container "
        f"holds it, and OpenCode's container only through the push switch (key {PUSH_KEY}, set by "
        "WORKSPACE_GIT_PUSH: enabled in ks.yaml); remove the key from this container",
    )


def _opencode_config(inventory: Inventory, release: Release, work: Workload, main: Container) -> Iterator[Finding]:
    where = container_path(work, main)
    variable = main.variable(CONFIG_ENV)
    path = variable.value if variable is not None else None
    if not path:
        yield about(
            release.helmrelease,
            "opencode-config",
            f"{where}.env has no {CONFIG_ENV}: OpenCode then runs on its defaults, which include sharing sessions to "
            f"a public URL; point {CONFIG_ENV} at the workspace's opencode.json ConfigMap",
        )
        return
    document, problem = _config_document(inventory, work, main, path)
    if document is None:
        yield about(release.helmrelease, "opencode-config", f"{where}.env.{CONFIG_ENV}={path}: {problem}")
        return
    for key, wanted in REQUIRED_CONFIG.items():
        if document.get(key) != wanted:
            yield about(
                release.helmrelease,
                "opencode-config",
                f"the OpenCode config at {path} has {key}={document.get(key)!r}, expected {json.dumps(wanted)}",
            )


def _config_document(
    inventory: Inventory, work: Workload, main: Container, path: str
) -> tuple[dict[str, Any] | None, str]:
    directory, name = posixpath.split(path)
    mount = next(
        (m for m in main.mounts if m.volume.type == "configMap" and posixpath.normpath(m.path) == directory), None
    )
    if mount is None or mount.volume.source is None:
        return None, f"no ConfigMap is mounted at {directory} in this container: mount the config's ConfigMap there"
    key = next((k for k, p in mount.volume.items if p == name), name) if mount.volume.items else name
    config_map = inventory.get("ConfigMap", work.namespace, mount.volume.source)
    if config_map is None:
        return None, f"ConfigMap {mount.volume.source} is not in the tree (link-configmap)"
    text = mapping(config_map.obj.get("data")).get(key)
    if text is None:
        return None, f"ConfigMap {mount.volume.source} has no key {key}: add the file to its configMapGenerator"
    try:
        document = json.loads(str(text))
    except json.JSONDecodeError as exc:
        return None, f"ConfigMap {mount.volume.source} key {key} is not valid JSON ({exc.msg} at line {exc.lineno})"
    if not isinstance(document, dict):
        return None, f"ConfigMap {mount.volume.source} key {key} is not a JSON object"
    return document, ""
