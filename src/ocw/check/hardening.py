"""Rules that keep the workspace pod's hardening from regressing silently (docs/security.md): no service account
token, each container mounts only the Secret keys it reads, the git token only where the push switch allows it, and
OpenCode reads the workspace's own config with sharing disabled."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from typing import Any

from ocw.check.inventory import Inventory, Release
from ocw.check.render import Pod
from ocw.findings import Finding
from ocw.helm import app_template

PAT_REMOTE_SUFFIX = "_GITHUB_PAT"
PUSH_KEY = "GIT_PUSH_TOKEN_enabled"  # what WORKSPACE_GIT_PUSH=enabled makes OpenCode's container mount
CONFIG_ENV = "OPENCODE_CONFIG"
REQUIRED_CONFIG = {"share": "disabled", "autoupdate": False}


def check_hardening(
    inventory: Inventory, release: Release, pod: Pod, main: app_template.Container
) -> Iterator[Finding]:
    yield from _service_account_token(release, pod)
    yield from _secret_keys(inventory, release, pod, main)
    yield from _opencode_config(inventory, release, pod, main)


def _finding(release: Release, rule: str, message: str) -> Finding:
    return Finding(release.helmrelease.file, rule, release.helmrelease.ref, message)


def _service_account_token(release: Release, pod: Pod) -> Iterator[Finding]:
    values = (release.helmrelease.obj.get("spec") or {}).get("values") or {}
    default = (values.get("defaultPodOptions") or {}).get("automountServiceAccountToken")
    own = (pod.controller.values.get("pod") or {}).get("automountServiceAccountToken")
    if (own if own is not None else default) is not False:
        yield _finding(
            release,
            "sa-token-off",
            f"controllers.{pod.controller.identifier}: automountServiceAccountToken is not false, so every container "
            "(and the agent's shell) can read a Kubernetes API token: set "
            "defaultPodOptions.automountServiceAccountToken: false",
        )


def pat_keys(inventory: Inventory, namespace: str | None, secret: str) -> set[str]:
    """Keys of the Secret whose ExternalSecret template reads the GitHub PAT."""
    for external in inventory.of_kind("ExternalSecret"):
        spec = external.obj.get("spec") or {}
        target = spec.get("target") or {}
        if external.namespace != namespace or str(target.get("name") or external.name) != secret:
            continue
        pat_fields = {
            str(d.get("secretKey"))
            for d in spec.get("data") or []
            if isinstance(d, dict) and str((d.get("remoteRef") or {}).get("key", "")).endswith(PAT_REMOTE_SUFFIX)
        }
        template = (target.get("template") or {}).get("data") or {}
        if not template:
            return pat_fields
        return {str(k) for k, text in template.items() if any(f".{f}" in str(text) for f in pat_fields)}
    return set()


def _containers(pod: Pod) -> Iterator[tuple[str, app_template.Container]]:
    for container in pod.controller.init_containers:
        yield f"controllers.{pod.controller.identifier}.initContainers.{container.name}", container
    for container in pod.controller.containers:
        yield f"controllers.{pod.controller.identifier}.containers.{container.name}", container


def _secret_keys(inventory: Inventory, release: Release, pod: Pod, main: app_template.Container) -> Iterator[Finding]:
    namespace = release.helmrelease.namespace
    for where, container in _containers(pod):
        for env_from in container.env_from:
            if env_from.kind == "Secret":
                yield _finding(
                    release,
                    "secret-keys-only",
                    f"{where}: envFrom Secret {env_from.name} hands the container every key of it (the PAT, the "
                    "password): read the keys it needs one by one (env valueFrom.secretKeyRef)",
                )
        for mount in container.mounts:
            volume = mount.volume
            if volume.type != "secret" or volume.source is None:
                continue
            if not volume.items:
                yield _finding(
                    release,
                    "secret-keys-only",
                    f"{where} mounts the whole Secret {volume.source} (persistence.{volume.identifier}) at "
                    f"{mount.path}: list the keys it reads under persistence.{volume.identifier}.items",
                )
                keys = pat_keys(inventory, namespace, volume.source)
            else:
                keys = {key for key, _ in volume.items} & pat_keys(inventory, namespace, volume.source)
            yield from _token_scope(
                release, where, container=container, main=main, keys=keys, via=f"persistence.{volume.identifier}"
            )
        for variable in container.env:
            if variable.secret_ref is not None:
                keys = {variable.secret_ref[1]} & pat_keys(inventory, namespace, variable.secret_ref[0])
                yield from _token_scope(
                    release, where, container=container, main=main, keys=keys, via=f"env {variable.name}"
                )


def _token_scope(
    release: Release,
    where: str,
    *,
    container: app_template.Container,
    main: app_template.Container,
    keys: set[str],
    via: str,
) -> Iterator[Finding]:
    if container.init or not keys:
        return
    if container.name == main.name and keys == {PUSH_KEY}:
        return  # WORKSPACE_GIT_PUSH=enabled: the documented, deliberate exception
    yield _finding(
        release,
        "git-token-scope",
        f"{where} reads the git token (Secret key {', '.join(sorted(keys))}, through {via}): only the init container "
        f"holds it, and OpenCode's container only through the push switch (key {PUSH_KEY}, set by "
        "WORKSPACE_GIT_PUSH: enabled in ks.yaml); remove the key from this container",
    )


def _opencode_config(
    inventory: Inventory, release: Release, pod: Pod, main: app_template.Container
) -> Iterator[Finding]:
    where = f"controllers.{pod.controller.identifier}.containers.{main.name}"
    variable = next((v for v in main.env if v.name == CONFIG_ENV), None)
    path = variable.value if variable is not None else None
    if not isinstance(path, str) or not path:
        yield _finding(
            release,
            "opencode-config",
            f"{where}.env has no {CONFIG_ENV}: OpenCode then runs on its defaults, which include sharing sessions to "
            f"a public URL; point {CONFIG_ENV} at the workspace's opencode.json ConfigMap",
        )
        return
    document, problem = _config_document(inventory, release, main, path)
    if document is None:
        yield _finding(release, "opencode-config", f"{where}.env.{CONFIG_ENV}={path}: {problem}")
        return
    for key, wanted in REQUIRED_CONFIG.items():
        if document.get(key) != wanted:
            yield _finding(
                release,
                "opencode-config",
                f"the OpenCode config at {path} has {key}={document.get(key)!r}, expected {json.dumps(wanted)}",
            )


def _config_document(
    inventory: Inventory, release: Release, main: app_template.Container, path: str
) -> tuple[dict[str, Any] | None, str]:
    directory, name = posixpath.split(path)
    mount = next(
        (m for m in main.mounts if m.volume.type == "configMap" and posixpath.normpath(m.path) == directory), None
    )
    if mount is None or mount.volume.source is None:
        return None, f"no ConfigMap is mounted at {directory} in this container: mount the config's ConfigMap there"
    key = next((k for k, p in mount.volume.items if p == name), name) if mount.volume.items else name
    config_map = inventory.get("ConfigMap", release.helmrelease.namespace, mount.volume.source)
    if config_map is None:
        return None, f"ConfigMap {mount.volume.source} is not in the tree (link-configmap)"
    text = (config_map.obj.get("data") or {}).get(key)
    if text is None:
        return None, f"ConfigMap {mount.volume.source} has no key {key}: add the file to its configMapGenerator"
    try:
        document = json.loads(str(text))
    except json.JSONDecodeError as exc:
        return None, f"ConfigMap {mount.volume.source} key {key} is not valid JSON ({exc.msg} at line {exc.lineno})"
    if not isinstance(document, dict):
        return None, f"ConfigMap {mount.volume.source} key {key} is not a JSON object"
    return document, ""
