"""The project's rules for what app-template renders: security, the workspace figures, single-writer storage,
pinned images, traffic policy. Each finding says what to change."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ocw.check import expectations
from ocw.check.hardening import check_hardening
from ocw.check.inventory import Inventory, Release
from ocw.check.landing import check_landing
from ocw.check.links import policy_targets, secret_keys
from ocw.check.render import Pod, Route, go_string
from ocw.errors import OcwError
from ocw.findings import Finding, Severity
from ocw.flux.build import Manifest
from ocw.helm import app_template
from ocw.kube.manifest import HOST_KUSTOMIZATION_PREFIX
from ocw.kube.quantity import duration_seconds, quantity
from ocw.workspace import COMPONENT_LABEL, COMPONENT_VALUE

SECRET_DOMAIN_VARIABLE = "${SECRET_DOMAIN"  # noqa: S105 - a variable reference


def check_policy(inventory: Inventory, pinned_opencode: Callable[[], str]) -> list[Finding]:
    findings: list[Finding] = []
    for release in inventory.releases:
        if release.helmrelease.kustomization.startswith(HOST_KUSTOMIZATION_PREFIX):
            continue
        for pod in release.pods:
            findings.extend(_pod_security(release, pod))
            findings.extend(_images(release, pod, pinned_opencode))
        if _is_workspace(release):
            findings.extend(_workspace(inventory, release))
    for route in inventory.routes:
        if not route.origin.kustomization.startswith(HOST_KUSTOMIZATION_PREFIX):
            findings.extend(_hostname_domain(route))
    for manifest in inventory.tree:
        findings.extend(_raw_env_types(manifest))
    return findings


def _is_workspace(release: Release) -> bool:
    labels = (release.helmrelease.obj.get("metadata") or {}).get("labels") or {}
    return bool(labels.get(COMPONENT_LABEL) == COMPONENT_VALUE)


def _finding(release: Release, rule: str, message: str) -> Finding:
    return Finding(release.helmrelease.file, rule, release.helmrelease.ref, message)


def _containers(pod: Pod) -> Iterator[tuple[str, app_template.Container]]:
    for container in pod.controller.init_containers:
        yield f"controllers.{pod.controller.identifier}.initContainers.{container.name}", container
    for container in pod.controller.containers:
        yield f"controllers.{pod.controller.identifier}.containers.{container.name}", container


def _main_container(pod: Pod) -> app_template.Container | None:
    containers = pod.controller.containers
    return next((c for c in containers if c.name == "app"), containers[0] if containers else None)


# --- every app-template release ----------------------------------------------------------------------------------


def _pod_security(release: Release, pod: Pod) -> Iterator[Finding]:
    pod_context = pod.controller.pod_security_context
    for where, container in _containers(pod):
        own = container.security_context
        effective = {**pod_context, **own}
        user = effective.get("runAsUser")
        if user == 0 or (effective.get("runAsNonRoot") is not True and not (isinstance(user, int) and user > 0)):
            yield _finding(
                release,
                "pod-security-restricted",
                f"{where} may run as root: set runAsNonRoot: true and a non-zero runAsUser (in "
                f"defaultPodOptions.securityContext or {where}.securityContext)",
            )
        if own.get("allowPrivilegeEscalation") is not False:
            yield _finding(
                release,
                "pod-security-restricted",
                f"{where}: allowPrivilegeEscalation is not false: set {where}.securityContext.allowPrivilegeEscalation:"
                f" false",
            )
        drop = (own.get("capabilities") or {}).get("drop") or []
        if "ALL" not in drop:
            yield _finding(
                release,
                "pod-security-restricted",
                f"{where}: capabilities are not dropped: set {where}.securityContext.capabilities.drop: [ALL]",
            )
        seccomp = (effective.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            yield _finding(
                release,
                "pod-security-restricted",
                f"{where}: no seccomp profile: set seccompProfile.type: RuntimeDefault in "
                f"defaultPodOptions.securityContext",
            )


def _images(release: Release, pod: Pod, pinned_opencode: Callable[[], str]) -> Iterator[Finding]:
    for where, container in _containers(pod):
        image = container.values.get("image") or {}
        repository = str(image.get("repository", ""))
        tag = image.get("tag")
        if not tag and not image.get("digest"):
            yield _finding(
                release,
                "image-pinned",
                f"{where}: image {repository} has no tag, so the node pulls whatever `latest` is today: set "
                f"{where}.image.tag to a version",
            )
        elif str(tag) == "latest":
            yield _finding(
                release, "image-pinned", f"{where}: image {repository}:latest is not pinned: use a version tag"
            )
        if tag and (repository in expectations.OPENCODE_IMAGES or _is_workspace_image(repository)):
            yield from _opencode_version(release, where, repository, str(tag), pinned_opencode)


def _is_workspace_image(repository: str) -> bool:
    return repository.rsplit("/", 1)[-1] == expectations.WORKSPACE_IMAGE_NAME


def _opencode_version_of(repository: str, tag: str) -> str:
    """The OpenCode version an image tag names: the workspace image's tag may carry a `-<commit>` suffix."""
    version = tag.removeprefix("v")
    return version.split("-", 1)[0] if _is_workspace_image(repository) else version


def _opencode_version(
    release: Release, where: str, repository: str, tag: str, pinned_opencode: Callable[[], str]
) -> Iterator[Finding]:
    try:
        pinned = pinned_opencode()
    except OcwError as exc:
        yield Finding(
            release.helmrelease.file,
            "opencode-version",
            release.helmrelease.ref,
            f"cannot compare the OpenCode image tag with the pinned version: {exc.message}",
            severity=Severity.WARNING,
        )
        return
    if _opencode_version_of(repository, tag) != pinned.removeprefix("v"):
        yield _finding(
            release,
            "opencode-version",
            f"{where}: image {repository}:{tag}, but ocw tests OpenCode {pinned} (tools/package.json). Use tag "
            f"{pinned}, or move both pins together",
        )


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
        for container in spec.get(section) or []:
            if not isinstance(container, dict):
                continue
            for entry in container.get("env") or []:
                if not isinstance(entry, dict) or "value" not in entry or isinstance(entry["value"], str):
                    continue
                value = entry["value"]
                kind = "null" if value is None else type(value).__name__
                name = entry.get("name")
                yield Finding(
                    manifest.file,
                    "env-value-type",
                    manifest.ref,
                    f"{section}.{container.get('name')}.env.{name} is a {kind} ({value!r}) after Flux substitution, "
                    f"not a string, and the API server accepts only strings: quote it in the source "
                    f'(value: "{go_string(value)}"); quotes around a ${{VAR}} keep whatever it becomes a string',
                )


def _hostname_domain(route: Route) -> Iterator[Finding]:
    for written, rendered in zip(route.source_hostnames, route.hostnames, strict=False):
        if SECRET_DOMAIN_VARIABLE not in written:
            label = f"{route.kind}/{route.namespace}/{route.name}"
            yield Finding(
                route.origin.file,
                "hostname-literal-domain",
                label,
                f"hostname {rendered} is written with a literal domain ({written!r}): the cluster's domain is the "
                f"Flux variable SECRET_DOMAIN, write it as <name>.opencode.${{SECRET_DOMAIN}}",
            )


# --- workspaces --------------------------------------------------------------------------------------------------


def _workspace(inventory: Inventory, release: Release) -> Iterator[Finding]:
    for pod in release.pods:
        yield from _single_writer(release, pod)
        yield from _reloader(release, pod)
        main = _main_container(pod)
        if main is not None:
            yield from _resources(release, pod, main)
            yield from _password(inventory, release, pod, main)
            yield from check_hardening(inventory, release, pod, main)
        yield from _volume(inventory, release, pod)
    mains = [main for main in (_main_container(pod) for pod in release.pods) if main is not None]
    working_dir = mains[0].working_dir if mains else None
    for route in release.routes:
        yield from _traffic_policy(inventory, release, route)
        yield from check_landing(route, working_dir)


def _single_writer(release: Release, pod: Pod) -> Iterator[Finding]:
    controller = pod.controller
    where = f"controllers.{controller.identifier}"
    if controller.replicas != 1:
        yield _finding(
            release,
            "single-writer",
            f"{where}.replicas is {controller.replicas!r}: OpenCode's SQLite database takes one writer, set it to 1",
        )
    if controller.type == "deployment" and controller.strategy != "Recreate":
        yield _finding(
            release,
            "single-writer",
            f"{where}.strategy is {controller.strategy or 'RollingUpdate (the default)'}: a rolling update starts "  # noqa: S608
            f"the new pod while the old one holds the database and the RWO volume; set strategy: Recreate",
        )


def _reloader(release: Release, pod: Pod) -> Iterator[Finding]:
    controller = pod.controller
    where = f"controllers.{controller.identifier}"
    value = (controller.values.get("annotations") or {}).get(expectations.RELOADER_ANNOTATION)
    if value == "true":
        return
    on_pod = (controller.values.get("pod") or {}).get("annotations") or {}
    if expectations.RELOADER_ANNOTATION in on_pod:
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
    yield _finding(release, "ops01-reloader", message)


def _resources(release: Release, pod: Pod, main: app_template.Container) -> Iterator[Finding]:
    where = f"controllers.{pod.controller.identifier}.containers.{main.name}.resources"
    for section, expected in expectations.RESOURCES.items():
        actual = main.resources.get(section) or {}
        for resource, wanted in expected.items():
            value = actual.get(resource)
            if value is None:
                yield _finding(
                    release, "sec05-resources", f"{where}.{section}.{resource} is not set: set it to {wanted}"
                )
            elif quantity(value) != quantity(wanted):
                yield _finding(
                    release, "sec05-resources", f"{where}.{section}.{resource} is {value}, expected {wanted}"
                )


def _password(inventory: Inventory, release: Release, pod: Pod, main: app_template.Container) -> Iterator[Finding]:
    env = next((c.get("env") or [] for c in pod.spec["containers"] if c.get("name") == main.name), [])
    variable = next((e for e in env if e.get("name") == expectations.PASSWORD_ENV), None)
    where = f"controllers.{pod.controller.identifier}.containers.{main.name}.env"
    if variable is not None:
        if ((variable.get("valueFrom") or {}).get("secretKeyRef")) is not None:
            return
        if "value" in variable:
            yield _finding(
                release,
                "password-from-secret",
                f"{where}.{expectations.PASSWORD_ENV} is a literal value in git: read it from the workspace Secret "
                f"(valueFrom.secretKeyRef) instead, and change the password",
            )
            return
    for env_from in main.env_from:
        # envFrom names each variable <prefix><key>: only a key that the prefix turns into the variable counts.
        if env_from.kind != "Secret" or not expectations.PASSWORD_ENV.startswith(env_from.prefix):
            continue
        _, keys = secret_keys(inventory, release.helmrelease.namespace, env_from.name)
        if keys is None or expectations.PASSWORD_ENV.removeprefix(env_from.prefix) in keys:
            return
    yield _finding(
        release,
        "password-from-secret",
        f"{where} has no {expectations.PASSWORD_ENV} from a Secret: OpenCode then serves anyone who finds the URL. "
        f"Add {expectations.PASSWORD_ENV}: {{valueFrom: {{secretKeyRef: {{name: <app>-secret, key: "
        f"{expectations.PASSWORD_ENV}}}}}}}",
    )


def _volume(inventory: Inventory, release: Release, pod: Pod) -> Iterator[Finding]:
    values = (release.helmrelease.obj.get("spec") or {}).get("values") or {}
    persistence = values.get("persistence") or {}
    used = {
        m.volume.identifier for c in (*pod.controller.init_containers, *pod.controller.containers) for m in c.mounts
    }
    claims = [
        v for v in app_template.volumes(values).values() if v.type == "persistentVolumeClaim" and v.identifier in used
    ]
    if not claims:
        yield _finding(
            release,
            "sec04-volume",
            "the workspace mounts no persistent volume: clone, sessions and Copilot auth would vanish with the pod",
        )
        return
    for volume in claims:
        where = f"persistence.{volume.identifier}"
        if volume.source:
            pvc = inventory.get("PersistentVolumeClaim", release.helmrelease.namespace, volume.source)
            if pvc is None:
                continue  # link-pvc reports it
            spec = pvc.obj.get("spec") or {}
            modes = spec.get("accessModes")
            storage_class = spec.get("storageClassName")
            size = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
            subject, file = f"PVC {pvc.name}", pvc.file
        else:
            item = persistence.get(volume.identifier) or {}
            modes = [item["accessMode"]] if item.get("accessMode") else None
            storage_class, size = item.get("storageClass"), item.get("size")
            subject, file = where, release.helmrelease.file
        problems = []
        if list(modes or []) != list(expectations.VOLUME_ACCESS_MODES):
            problems.append(f"access modes {modes}, expected {list(expectations.VOLUME_ACCESS_MODES)}")
        if storage_class != expectations.VOLUME_STORAGE_CLASS:
            problems.append(f"storage class {storage_class!r}, expected {expectations.VOLUME_STORAGE_CLASS}")
        if quantity(size) is None or quantity(size) != quantity(expectations.VOLUME_SIZE):
            problems.append(f"size {size!r}, expected {expectations.VOLUME_SIZE}")
        for problem in problems:
            yield Finding(file, "sec04-volume", release.helmrelease.ref, f"workspace volume ({subject}): {problem}")


def _traffic_policy(inventory: Inventory, release: Release, route: Route) -> Iterator[Finding]:
    label = f"{route.kind}/{route.namespace}/{route.name}"
    policies = policy_targets(inventory, route)
    if not policies:
        yield _finding(
            release,
            "traffic-policy",
            f"no BackendTrafficPolicy targets the workspace route {label}: the gateway's defaults apply and Envoy "
            f"closes a stream idle for 5 minutes. Add one targeting HTTPRoute {route.name}",
        )
        return
    policy = policies[0]
    spec = policy.obj.get("spec") or {}
    http = (spec.get("timeout") or {}).get("http") or {}
    merges = bool(spec.get("mergeType"))
    subject = f"{policy.ref} (for {label})"

    def finding(message: str) -> Finding:
        return Finding(policy.file, "traffic-policy", subject, message)

    if not merges and not ("requestTimeout" in http and "connectionIdleTimeout" in http):
        yield finding(
            "without mergeType this policy replaces the gateway-wide policy `envoy` for the route, dropping its "
            "timeouts: set mergeType: StrategicMerge, or restate timeout.http.requestTimeout and connectionIdleTimeout"
        )
    request = http.get("requestTimeout")
    if request is None and merges:
        request = _gateway_request_timeout(inventory, route)
    seconds = duration_seconds(request) if request is not None else None
    if seconds is None or (seconds != 0 and seconds <= expectations.MIN_REQUEST_TIMEOUT_SECONDS):
        yield finding(
            f"requestTimeout is {request or 'unset (Envoy default 15s)'}: streamed answers run longer; set "
            f"timeout.http.requestTimeout to 0s (no limit) or more than {expectations.MIN_REQUEST_TIMEOUT_SECONDS}s"
        )
    idle = http.get("streamIdleTimeout")
    idle_seconds = duration_seconds(idle) if idle is not None else None
    if idle_seconds is None or (idle_seconds != 0 and idle_seconds <= expectations.ENVOY_DEFAULT_STREAM_IDLE_SECONDS):
        yield finding(
            f"streamIdleTimeout is {idle or 'unset (Envoy default 5m)'}: a quiet terminal or event stream is cut "
            f"after it; set timeout.http.streamIdleTimeout above "
            f"{expectations.ENVOY_DEFAULT_STREAM_IDLE_SECONDS // 60}m (e.g. 3600s)"
        )


def _gateway_request_timeout(inventory: Inventory, route: Route) -> Any:
    """requestTimeout of the policy attached to the route's Gateway (the one a mergeType policy merges into)."""
    gateways = {(str(r.get("namespace") or route.namespace), str(r.get("name"))) for r in route.parent_refs}
    for policy in inventory.of_kind("BackendTrafficPolicy"):
        spec = policy.obj.get("spec") or {}
        for ref in spec.get("targetRefs") or []:
            if ref.get("kind") == "Gateway" and (policy.namespace, ref.get("name")) in gateways:
                return ((spec.get("timeout") or {}).get("http") or {}).get("requestTimeout")
    return None
