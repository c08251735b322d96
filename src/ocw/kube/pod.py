"""A workload's pod, read from the object the cluster would hold (a Deployment, StatefulSet, ... as Helm renders it):
its containers with their command, environment, Secret and ConfigMap references and volume mounts, its volumes and
its pod-level settings. `ocw up`, `ocw verify` and the check rules all read the pod through this one model.

Field defaults are the API server's (a Deployment without `replicas` runs one, without `strategy` rolls), so that
what is read here is what runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ocw.kube.manifest import Manifest, mapping, mappings, strings

VolumeType = Literal["persistentVolumeClaim", "emptyDir", "configMap", "secret", "hostPath", "other"]
EnvSourceKind = Literal["Secret", "ConfigMap"]
# app-template labels each workload with the identifier of the controller it came from.
CONTROLLER_LABEL: Final = "app.kubernetes.io/controller"
KUBERNETES_DEFAULT_GRACE_SECONDS: Final = 30.0

# Where each workload kind keeps its pod template.
_TEMPLATE_PATHS: Final[dict[str, tuple[str, ...]]] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
_VOLUME_TYPES: Final[tuple[VolumeType, ...]] = ("persistentVolumeClaim", "emptyDir", "configMap", "secret", "hostPath")


@dataclass(frozen=True)
class KeyRef:
    """One key of a Secret or ConfigMap (`secretKeyRef`, `configMapKeyRef`)."""

    name: str
    key: str
    optional: bool = False


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None = None
    secret_ref: KeyRef | None = None
    config_map_ref: KeyRef | None = None
    other_source: dict[str, Any] | None = None  # fieldRef and friends: not meaningful outside a cluster


@dataclass(frozen=True)
class EnvFrom:
    kind: EnvSourceKind
    name: str
    prefix: str = ""
    optional: bool = False


@dataclass(frozen=True)
class Volume:
    name: str
    type: VolumeType
    source: str | None  # claim / ConfigMap / Secret name, hostPath path
    items: tuple[tuple[str, str], ...] = ()  # (key, path) projections of a ConfigMap or Secret
    default_mode: int | None = None
    optional: bool = False
    spec: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Mount:
    volume: Volume
    path: str
    read_only: bool = False
    sub_path: str | None = None


@dataclass
class Container:
    name: str
    init: bool
    image: str
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    env: list[EnvVar] = field(default_factory=list)
    env_from: list[EnvFrom] = field(default_factory=list)
    working_dir: str | None = None
    mounts: list[Mount] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)
    security_context: dict[str, Any] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict, repr=False)

    def variable(self, name: str) -> EnvVar | None:
        """The last definition of a variable, as the kubelet takes it."""
        return next((var for var in reversed(self.env) if var.name == name), None)

    def startup_seconds(self) -> float | None:
        """How long the kubelet lets the container start before it restarts it: its startupProbe's
        initialDelaySeconds + periodSeconds x failureThreshold (Kubernetes' defaults 0, 10 and 3); None without one."""
        probe = self.spec.get("startupProbe")
        if not isinstance(probe, dict):
            return None
        delay, period, failures = (probe.get(k) for k in ("initialDelaySeconds", "periodSeconds", "failureThreshold"))
        number = (int, float)
        return float(
            (delay if isinstance(delay, number) else 0)
            + (period if isinstance(period, number) else 10) * (failures if isinstance(failures, number) else 3)
        )


@dataclass
class Workload:
    """A workload object and the pod it runs."""

    manifest: Manifest
    pod_spec: dict[str, Any] = field(repr=False)
    pod_annotations: dict[str, str]
    pod_labels: dict[str, str]
    security_context: dict[str, Any]
    init_containers: list[Container]
    containers: list[Container]
    volumes: list[Volume]

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def namespace(self) -> str | None:
        return self.manifest.namespace

    @property
    def annotations(self) -> dict[str, str]:
        """The workload's own annotations (where Reloader looks), not the pod template's."""
        return self.manifest.annotations

    @property
    def controller(self) -> str | None:
        """The app-template controller identifier the workload was rendered from, when it was."""
        return self.manifest.labels.get(CONTROLLER_LABEL)

    @property
    def replicas(self) -> int | None:
        """Pods the workload runs: the API server's default 1 for a Deployment or StatefulSet without the field."""
        if self.kind not in ("Deployment", "StatefulSet", "ReplicaSet"):
            return None
        value = self.manifest.spec.get("replicas", 1)
        return value if isinstance(value, int) else None

    @property
    def strategy(self) -> str | None:
        """A Deployment's rollout strategy type (the API server's default is RollingUpdate)."""
        if self.kind != "Deployment":
            return None
        return str(mapping(self.manifest.spec.get("strategy")).get("type") or "RollingUpdate")

    @property
    def grace_seconds(self) -> float:
        value = self.pod_spec.get("terminationGracePeriodSeconds")
        return float(value) if isinstance(value, int | float) else KUBERNETES_DEFAULT_GRACE_SECONDS

    @property
    def automount_service_account_token(self) -> bool | None:
        value = self.pod_spec.get("automountServiceAccountToken")
        return value if isinstance(value, bool) else None

    @property
    def all_containers(self) -> list[Container]:
        return [*self.init_containers, *self.containers]

    @property
    def main_container(self) -> Container | None:
        """The app container: app-template's conventional `app`, else the first one."""
        return next((c for c in self.containers if c.name == "app"), self.containers[0] if self.containers else None)


def is_workload(manifest: Manifest) -> bool:
    return manifest.kind in _TEMPLATE_PATHS


def workload(manifest: Manifest) -> Workload:
    """The typed pod of a workload object; raises ValueError for any other kind."""
    if manifest.kind not in _TEMPLATE_PATHS:
        raise ValueError(f"{manifest.ref} is not a workload")
    template: Any = manifest.obj
    for key in _TEMPLATE_PATHS[manifest.kind]:
        template = mapping(template).get(key)
    template = mapping(template)
    spec = mapping(template.get("spec"))
    volumes = {volume.name: volume for volume in (_volume(raw) for raw in mappings(spec.get("volumes")))}
    return Workload(
        manifest=manifest,
        pod_spec=spec,
        pod_annotations=strings(mapping(template.get("metadata")).get("annotations")),
        pod_labels=strings(mapping(template.get("metadata")).get("labels")),
        security_context=mapping(spec.get("securityContext")),
        init_containers=[_container(raw, True, volumes) for raw in mappings(spec.get("initContainers"))],
        containers=[_container(raw, False, volumes) for raw in mappings(spec.get("containers"))],
        volumes=list(volumes.values()),
    )


def _volume(raw: dict[str, Any]) -> Volume:
    kind = next((t for t in _VOLUME_TYPES if t in raw), None)
    source_spec = mapping(raw.get(kind)) if kind else {}
    source: Any = None
    if kind == "persistentVolumeClaim":
        source = source_spec.get("claimName")
    elif kind == "configMap":
        source = source_spec.get("name")
    elif kind == "secret":
        source = source_spec.get("secretName")
    elif kind == "hostPath":
        source = source_spec.get("path")
    mode = source_spec.get("defaultMode")
    return Volume(
        name=str(raw.get("name", "")),
        type=kind or "other",
        source=None if source is None else str(source),
        items=tuple((str(i.get("key")), str(i.get("path"))) for i in mappings(source_spec.get("items"))),
        default_mode=mode if isinstance(mode, int) and not isinstance(mode, bool) else None,
        optional=source_spec.get("optional") is True,
        spec=raw,
    )


def _key_ref(raw: Any) -> KeyRef:
    ref = mapping(raw)
    return KeyRef(str(ref.get("name", "")), str(ref.get("key", "")), ref.get("optional") is True)


def _env(raw: dict[str, Any]) -> EnvVar:
    name = str(raw.get("name", ""))
    source = mapping(raw.get("valueFrom"))
    if "secretKeyRef" in source:
        return EnvVar(name, secret_ref=_key_ref(source["secretKeyRef"]))
    if "configMapKeyRef" in source:
        return EnvVar(name, config_map_ref=_key_ref(source["configMapKeyRef"]))
    if source:
        return EnvVar(name, other_source=source)
    value = raw.get("value")
    return EnvVar(name, value="" if value is None else str(value))


def _env_from(raw: dict[str, Any]) -> EnvFrom | None:
    prefix = str(raw.get("prefix") or "")
    for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
        if key in raw:
            ref = mapping(raw[key])
            source_kind: EnvSourceKind = "Secret" if kind == "Secret" else "ConfigMap"
            return EnvFrom(source_kind, str(ref.get("name", "")), prefix, ref.get("optional") is True)
    return None


def _container(raw: dict[str, Any], init: bool, volumes: dict[str, Volume]) -> Container:
    mounts = []
    for mount in mappings(raw.get("volumeMounts")):
        volume = volumes.get(str(mount.get("name")))
        if volume is None:  # a mount of an undeclared volume: the schema check reports the pod
            volume = Volume(str(mount.get("name")), "other", None)
        sub_path = mount.get("subPath")
        mounts.append(
            Mount(
                volume,
                str(mount.get("mountPath", "")),
                mount.get("readOnly") is True,
                str(sub_path) if sub_path else None,
            )
        )
    working_dir = raw.get("workingDir")
    return Container(
        name=str(raw.get("name", "")),
        init=init,
        image=str(raw.get("image", "")),
        command=_words(raw.get("command")),
        args=_words(raw.get("args")),
        env=[_env(item) for item in mappings(raw.get("env"))],
        env_from=[item for item in (_env_from(entry) for entry in mappings(raw.get("envFrom"))) if item is not None],
        working_dir=str(working_dir) if working_dir else None,
        mounts=mounts,
        resources=mapping(raw.get("resources")),
        security_context=mapping(raw.get("securityContext")),
        spec=raw,
    )


def _words(value: Any) -> list[str]:
    return [str(word) for word in value if word is not None] if isinstance(value, list) else []


def image_reference(image: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference: `ghcr.io/a/b:1.2@sha256:...` -> ghcr.io/a/b, 1.2, sha256:..."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repository, _, tag = name.rpartition(":")
        return repository, tag, digest or None
    return name, None, digest or None
