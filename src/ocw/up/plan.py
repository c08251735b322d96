"""From a workspace in the tree to what `ocw up` runs: the pod's Secret and ConfigMaps, both containers as
processes, the address, the credentials."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocw.component import PASSWORD_ENV
from ocw.errors import OcwError
from ocw.externalsecrets import gotemplate
from ocw.externalsecrets.render import fetch, render_secret, secret_source, template_data
from ocw.kube.pod import Mount
from ocw.opencode import DEFAULT_USERNAME
from ocw.opencode.project_url import project_url
from ocw.password import MIN_LENGTH, password_problem
from ocw.up import passthrough
from ocw.up.container import ContainerRun, container_run
from ocw.up.pod import ProcessSpec, process_spec, serve_address
from ocw.up.ports import ANY_PORT, LOCAL_LISTEN, free_port
from ocw.up.secrets_file import read_secrets_file
from ocw.up.state import EngineKind, WorkspaceDirs, read_password_file, workspace_dirs
from ocw.up.toolbox import process_path
from ocw.up.volumes import mount_table
from ocw.workspace import Workspace

SOURCE_ENV = "WORKSPACE_GIT_REPOSITORY"
USERNAME_ENV = "OPENCODE_SERVER_USERNAME"


@dataclass(frozen=True)
class UpOptions:
    state_dir: Path
    source: str | None = None
    secrets_file: Path | None = None
    port: int | None = None
    listen: str = LOCAL_LISTEN
    image: str | None = None  # run in this image with the container engine; None: as processes on this machine
    rootless: bool = False  # the engine runs as a user other than root


@dataclass
class Plan:
    workspace: Workspace
    dirs: WorkspaceDirs
    init: ProcessSpec | None
    app: ProcessSpec
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    mounts: list[Mount]
    config_maps: dict[str, dict[str, str]]
    secrets: dict[str, dict[str, str]] = field(repr=False)
    secret_origin: str
    absent_secret_keys: list[str]
    working_dir: str  # the manifest's (container) working directory
    grace: float  # the manifests' terminationGracePeriodSeconds
    image: str | None = None
    init_run: ContainerRun | None = None
    app_run: ContainerRun | None = None

    @property
    def engine(self) -> EngineKind:
        return "container" if self.image else "process"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def project_url(self) -> str:
        """Opens the project in a new browser, as the cluster's `/` redirect does: for the directory OpenCode runs
        in, the manifest's own path in a container, its translation under the state dir for processes."""
        directory = self.working_dir if self.app_run is not None and self.working_dir else str(self.app.cwd)
        return project_url(self.url, directory)


def config_maps(workspace: Workspace) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    for manifest in workspace.built.manifests:
        if manifest.kind == "ConfigMap":
            result[manifest.name] = {str(k): str(v) for k, v in (manifest.obj.get("data") or {}).items()}
    return result


def resolve_source(source: str | None) -> str | None:
    """A URL is kept; a path must exist and becomes absolute (the init step runs in another directory)."""
    if source is None or "://" in source or source.startswith("git@"):
        return source
    path = Path(source).expanduser()
    if not path.exists():
        raise OcwError(
            f"--source {source}: expected a clone URL or an existing path, found no such path",
            hint="pass a repository URL (https://...) or the path of a local git repository",
        )
    return str(path.resolve())


def _stored_password(dirs: WorkspaceDirs) -> str:
    return read_password_file(dirs.password_file) or secrets.token_urlsafe(24)


def pod_secret(workspace: Workspace, options: UpOptions, dirs: WorkspaceDirs) -> tuple[dict[str, str], str, list[str]]:
    """The workspace Secret's data, where it came from, and the keys deliberately left out."""
    if workspace.external_secret is None or workspace.secret_name is None:
        raise OcwError(
            f"workspace {workspace.name} has no ExternalSecret whose target feeds {PASSWORD_ENV}",
            hint="the server must never run without a password: fix the HelmRelease and ExternalSecret",
        )
    external_secret = workspace.external_secret.obj
    source = secret_source(external_secret)
    if options.secrets_file is not None:
        provider = read_secrets_file(options.secrets_file)
        data = fetch(source, provider, f"the secrets file {options.secrets_file}")
        return render_secret(external_secret, data), f"from {options.secrets_file}", []
    password_remote = workspace.doppler_keys.get("PASSWORD")
    password_key = next((k for k, remote in source.remote_keys.items() if remote == password_remote), None)
    if password_key is None:
        raise OcwError(
            f"ExternalSecret {source.name} fetches no *_PASSWORD key, so ocw cannot generate a password for it",
            hint="pass --secrets FILE with every key the ExternalSecret fetches",
        )
    data = {password_key: _stored_password(dirs)}
    templates = template_data(external_secret)
    usable = {key for key, nodes in templates.items() if gotemplate.referenced_keys(nodes) <= data.keys()}
    absent = sorted(set(templates) - usable)
    return render_secret(external_secret, data, only=usable), "generated (no --secrets)", absent


def make_plan(workspace: Workspace, options: UpOptions) -> Plan:
    dirs = workspace_dirs(options.state_dir, workspace.name)
    secret_data, origin, absent = pod_secret(workspace, options, dirs)
    secrets_by_name = {str(workspace.secret_name): secret_data}
    maps = config_maps(workspace)
    source = resolve_source(options.source)
    overrides = {SOURCE_ENV: source} if source else {}
    host_settings = passthrough.host_settings()
    tools = process_path(dirs.tools)

    init_spec: ProcessSpec | None = None
    mounts: list[Mount] = list(workspace.app_container.mounts)
    if workspace.init_container is not None:
        init = workspace.init_container
        init_spec = process_spec(init, maps, secrets_by_name, mount_table(dirs, init), overrides, path=tools)
        _pass_through(init_spec, host_settings)
        mounts = [*init.mounts, *mounts]

    app = workspace.app_container
    app_spec = process_spec(app, maps, secrets_by_name, mount_table(dirs, app), overrides, path=tools)
    _pass_through(app_spec, host_settings)
    program, args = app_spec.argv[:1], app_spec.argv[1:]
    port = options.port
    if port == ANY_PORT:
        # Chosen here, not by OpenCode, so that the URL ocw waits on and prints is the one it listens on.
        port = free_port(serve_address(list(args), options.listen, None)[1])
    args, host, manifest_port = serve_address(args, options.listen, port)
    if manifest_port is None:
        raise OcwError(
            f"container {app.name} of {workspace.name} names no --port in its args",
            hint="pass --port N",
        )
    app_spec = ProcessSpec(app_spec.container, [*program, *args], app_spec.env, app_spec.cwd)
    password = app_spec.env.get(PASSWORD_ENV, "")
    if (problem := password_problem(password)) is not None:
        raise OcwError(
            f"container {app.name} of {workspace.name} would start with a {PASSWORD_ENV} that {problem}: "
            "OpenCode would answer anyone, or anyone who guesses it; the container refuses to start with it",
            hint=f"set {PASSWORD_ENV} from the workspace Secret and give it {MIN_LENGTH} or more characters in "
            "--secrets (or leave --secrets out: ocw generates one)",
        )
    init_run: ContainerRun | None = None
    app_run: ContainerRun | None = None
    if options.image is not None:
        common: dict[str, Any] = {
            "dirs": dirs,
            "work": workspace.workload,
            "image": options.image,
            "config_maps": maps,
            "secrets": secrets_by_name,
            "overrides": overrides,
            "host_settings": host_settings,
            "rootless": options.rootless,
        }
        if workspace.init_container is not None:
            init_run = container_run(container=workspace.init_container, role="init", **common)
        # The same address rewrite as in process mode: the container shares this machine's network.
        container_args, _, _ = serve_address(list(app.args), options.listen, port)
        app_run = container_run(container=app, role="app", args=container_args, **common)
    return Plan(
        workspace=workspace,
        dirs=dirs,
        init=init_spec,
        app=app_spec,
        host=host,
        port=manifest_port,
        username=app_spec.env.get(USERNAME_ENV, DEFAULT_USERNAME),
        password=password,
        mounts=mounts,
        config_maps=maps,
        secrets=secrets_by_name,
        secret_origin=origin,
        absent_secret_keys=absent,
        working_dir=app.working_dir or "",
        grace=workspace.workload.grace_seconds,
        image=options.image,
        init_run=init_run,
        app_run=app_run,
    )


def _pass_through(spec: ProcessSpec, host_settings: dict[str, str]) -> None:
    """This machine's proxy and CA settings, unless the manifest sets the variable itself."""
    for name, value in host_settings.items():
        spec.env.setdefault(name, value)
