"""Each rule, shown failing: a copy of the real tree with one real file broken fails with that rule's id and a
message that names the problem. Rules that need more than a text edit have their own tests beside this file."""

from __future__ import annotations

import pytest

from check.tree_copy import COMPONENT, FLUX_KS, HELMRELEASE, REPO, TreeCopy, assert_broken, errors
from ocw.tree import load_tree

PVC = f"{COMPONENT}/pvc.yaml"
EXTERNALSECRET = f"{COMPONENT}/externalsecret.yaml"
POLICY = f"{COMPONENT}/backendtrafficpolicy.yaml"
INIT = f"{COMPONENT}/scripts/init.sh"
CERTIFICATE = "kubernetes/apps/network/certificates/app/opencode.yaml"
APP_KUSTOMIZATION = "kubernetes/apps/opencode/opencode-flux/app/kustomization.yaml"
OPENCODE_JSON = f"{COMPONENT}/config/opencode.json"
SECRET_ITEMS = (
    "        items:\n          - key: GITHUB_TOKEN\n            path: GITHUB_TOKEN\n"
    "          - key: COPILOT_AUTH_JSON\n            path: COPILOT_AUTH_JSON\n"
)
FAKE_TOKEN = "ghp_" + "Zq7" * 12  # token-shaped, not a token

PASSWORD_FROM_SECRET = (
    "              OPENCODE_SERVER_PASSWORD:\n                valueFrom:\n                  secretKeyRef:\n"
    "                    name: ${APP}-secret\n                    key: OPENCODE_SERVER_PASSWORD\n"
)

WORKDIR = "            workingDir: *workdir\n"
PREFIXED_ENV_FROM = (
    "            envFrom:\n              - secretRef:\n                  name: ${APP}-secret\n"
    "                prefix: WORKSPACE_\n"
)

Edit = tuple[str, str, str]

CASES: list[tuple[str, list[Edit], str]] = [
    ("yaml-strict", [(HELMRELEASE, "  interval: 1h\n", "  interval: 1h\n  interval: 2h\n")], "duplicate key"),
    ("schema-core", [(PVC, "  accessModes:", "  accessMode:")], "accessMode"),
    ("schema-crd", [(EXTERNALSECRET, "refreshInterval: 5m", "refreshIntervall: 5m")], "refreshIntervall"),
    ("schema-values", [(HELMRELEASE, "        controller: opencode", "        controler: opencode")], "controler"),
    (
        "schema-pod",
        [(HELMRELEASE, "                  timeoutSeconds: 2", "                  timeoutSecond: 2")],
        "timeoutSecond",
    ),
    (
        "namespace-prune-guard",
        [("kubernetes/apps/opencode/namespace.yaml", "kustomize.toolkit.fluxcd.io/prune: disabled", "team: opencode")],
        "prune: disabled",
    ),
    (
        "namespace-prune-guard",
        [("kubernetes/apps/opencode/kustomization.yaml", "  - ./namespace.yaml\n", "")],
        "no Namespace opencode",
    ),
    ("link-gateway-listener", [(HELMRELEASE, "sectionName: https-opencode", "sectionName: https-code")], "https-code"),
    (
        "link-tls-certificate",
        [(CERTIFICATE, '"*.opencode.${SECRET_DOMAIN}"', '"*.${SECRET_DOMAIN}"')] * 2,  # commonName and dnsNames
        "not covered",
    ),
    ("link-traffic-policy-target", [(POLICY, "      name: ${APP}", "      name: ${APP}-app")], "opencode-flux-app"),
    (
        "link-secret-ref",
        [
            (
                HELMRELEASE,
                "name: ${APP}-secret\n                    key:",
                "name: ${APP}-secrets\n                    key:",
            )
        ],
        "opencode-flux-secrets",
    ),
    (
        "link-secret-ref",
        [(EXTERNALSECRET, '        OPENCODE_SERVER_PASSWORD: "{{ .${WORKSPACE_SECRET_PREFIX}_PASSWORD }}"\n', "")],
        "key OPENCODE_SERVER_PASSWORD",
    ),
    ("link-pvc", [(HELMRELEASE, "existingClaim: ${APP}", "existingClaim: ${APP}-data")], "opencode-flux-data"),
    ("link-configmap", [(HELMRELEASE, "name: ${APP}-scripts", "name: ${APP}-script")], "opencode-flux-script"),
    (
        "link-chart-ref",
        [(HELMRELEASE, "    kind: OCIRepository\n    name: ${APP}", "    kind: OCIRepository\n    name: ${APP}-chart")],
        "opencode-flux-chart",
    ),
    ("link-depends-on", [(FLUX_KS, "    - name: volsync", "    - name: volsyncc")], "volsyncc"),
    ("link-secret-store", [(EXTERNALSECRET, "name: doppler-secrets", "name: doppler")], "doppler"),
    (
        "link-issuer",
        [(CERTIFICATE, "name: letsencrypt-production", "name: letsencrypt-staging")],
        "letsencrypt-staging",
    ),
    (
        "link-route-backend",
        [(HELMRELEASE, "              - identifier: app", "              - name: ${APP}-web")],
        "opencode-flux-web",
    ),
    # app-template itself refuses a backend identifier that names no service of the release.
    ("helm-render", [(HELMRELEASE, "              - identifier: app", "              - identifier: web")], "'web'"),
    (
        "sec01-secret-in-manifest",
        [("kubernetes/apps/opencode/namespace.yaml", "---\n", f"---\n# {FAKE_TOKEN}\n")],
        "GitHub token",
    ),
    ("sec01-secret-in-manifest", [(FLUX_KS, "---\n", "---\n# seeded from auth.json\n")], "grep"),
    ("sec03-init-script", [(INIT, "#!/bin/sh\n", "#!/bin/sh\nset -x\n")], "xtrace"),
    (
        "sec03-init-script",
        [
            (
                INIT,
                "#!/bin/sh\n",
                '#!/bin/sh\nremote="https://x-access-token:$(cat "$GIT_TOKEN_FILE")@github.com/jbaker48/k8s-cluster"\n',
            )
        ],
        "inside a URL",
    ),
    (
        "sec03-init-script",
        [
            (
                HELMRELEASE,
                'args: ["/bin/sh", "/opt/opencode-workspace/init',
                'args: ["/bin/sh", "-x", "/opt/opencode-workspace/init',
            )
        ],
        "xtrace",
    ),
    ("flux-script-substitution", [(INIT, "#!/bin/sh\n", '#!/bin/sh\necho "${HOME}"\n')], "${"),
    ("sec04-volume", [(PVC, "    - ReadWriteOnce", "    - ReadWriteMany")], "ReadWriteMany"),
    ("sec04-volume", [(FLUX_KS, "VOLSYNC_CAPACITY: 5Gi", "VOLSYNC_CAPACITY: 512Mi")], "'512Mi', expected at least 1Gi"),
    (
        "sec05-resources",
        [(HELMRELEASE, "memory: 1Gi", "memory: 512Mi")],
        "limits.memory is 512Mi, expected at least 1Gi",
    ),
    ("sec05-resources", [(HELMRELEASE, "                cpu: 100m\n", "")], "requests.cpu is not set"),
    (
        "ops01-reloader",
        [
            (
                HELMRELEASE,
                "        annotations:\n          reloader",
                "        pod:\n          annotations:\n            reloader",
            )
        ],
        "pod template",
    ),
    (
        "ops01-reloader",
        [(HELMRELEASE, 'reloader.stakater.com/auto: "true"', 'reloader.stakater.com/search: "true"')],
        "lacks",
    ),
    (
        "password-from-secret",
        [(HELMRELEASE, PASSWORD_FROM_SECRET, "")],
        "serves anyone",
    ),
    (
        "password-from-secret",
        [(HELMRELEASE, PASSWORD_FROM_SECRET, "              OPENCODE_SERVER_PASSWORD: hunter2\n")],
        "literal",
    ),
    # The Secret has the key, but envFrom's prefix renames it: the container gets WORKSPACE_OPENCODE_SERVER_PASSWORD.
    (
        "password-from-secret",
        [
            (HELMRELEASE, PASSWORD_FROM_SECRET, ""),
            (
                HELMRELEASE,
                "            workingDir: *workdir\n",
                "            workingDir: *workdir\n" + PREFIXED_ENV_FROM,
            ),
        ],
        "serves anyone",
    ),
    ("single-writer", [(HELMRELEASE, "strategy: Recreate", "strategy: RollingUpdate")], "RollingUpdate"),
    ("single-writer", [(HELMRELEASE, "replicas: 1", "replicas: 2")], "replicas is 2"),
    ("pod-security-restricted", [(HELMRELEASE, "        runAsNonRoot: true\n        runAsUser: 1000\n", "")], "root"),
    (
        "pod-security-restricted",
        [(HELMRELEASE, '                drop: ["ALL"]', '                drop: ["NET_RAW"]')],
        "capabilities",
    ),
    (
        "pod-security-restricted",
        [(HELMRELEASE, "        seccompProfile:\n          type: RuntimeDefault\n", "")],
        "seccomp",
    ),
    ("helm-render", [(HELMRELEASE, "              tag: ${WORKSPACE_IMAGE_TAG}\n", "")], "No image tag specified"),
    ("image-pinned", [(FLUX_KS, "WORKSPACE_IMAGE_TAG: 1.18.33", "WORKSPACE_IMAGE_TAG: latest")], "latest"),
    (
        "hostname-literal-domain",
        [(HELMRELEASE, "${WORKSPACE_HOST}.opencode.${SECRET_DOMAIN}", "${WORKSPACE_HOST}.opencode.example.com")],
        "literal domain",
    ),
    (
        "traffic-policy",
        [(POLICY, "  mergeType: StrategicMerge\n", ""), (POLICY, "      connectionIdleTimeout: 3600s\n", "")],
        "mergeType",
    ),
    ("traffic-policy", [(POLICY, "streamIdleTimeout: 3600s", "streamIdleTimeout: 300s")], "streamIdleTimeout is 300s"),
    ("traffic-policy", [(POLICY, "requestTimeout: 0s", "requestTimeout: 60s")], "requestTimeout is 60s"),
    (
        "traffic-policy",
        [(f"{COMPONENT}/kustomization.yaml", "  - ./backendtrafficpolicy.yaml\n", "")],
        "no BackendTrafficPolicy",
    ),
    (
        "schema-comment",
        [(FLUX_KS, "main/kustomization-kustomize-v1.json", "main/kustomization.json")],
        "yaml-language-server",
    ),
    ("schema-comment", [(HELMRELEASE, "bjw-s/helm-charts", "bjw-s-labs/helm-charts")], "bjw-s"),
    (
        "schema-comment",
        [(APP_KUSTOMIZATION, "# yaml-language-server: $schema=https://json.schemastore.org/kustomization\n", "")],
        "first line",
    ),
    (
        "flux-path",
        [(FLUX_KS, "path: ./kubernetes/apps/opencode/opencode-flux/app", "path: ./kubernetes/apps/opencode/flux/app")],
        "not a folder",
    ),
    ("flux-undefined-variable", [(HELMRELEASE, "${WORKSPACE_DIR}", "${WORKSPACE_DIRECTORY}")], "WORKSPACE_DIRECTORY"),
    # WORKSPACE_DIR moved without its project path: `/` would open another (empty) project.
    (
        "landing-redirect",
        [(FLUX_KS, "WORKSPACE_DIR: /Users/jbaker/git/k8s-cluster", "WORKSPACE_DIR: /Users/jbaker/src/k8s-cluster")],
        "WORKSPACE_PROJECT_PATH: L1VzZXJzL2piYWtlci9zcmMvazhzLWNsdXN0ZXI",
    ),
    ("landing-redirect", [(HELMRELEASE, "type: RequestRedirect", "type: URLRewrite")], "empty home page"),
    (
        "landing-redirect",
        [(HELMRELEASE, "                  type: Exact\n", "                  type: PathPrefix\n")],
        "Exact",
    ),
    (
        "helm-render",
        [
            (
                HELMRELEASE,
                "                  statusCode: 302\n",
                "                  statusCode: 302\n            backendRefs:\n              - identifier: app\n",
            )
        ],
        "cannot co-exist",  # app-template refuses it before the Gateway API would
    ),
    ("sa-token-off", [(HELMRELEASE, "      automountServiceAccountToken: false\n", "")], "is not false"),
    (
        "secret-keys-only",
        [(HELMRELEASE, SECRET_ITEMS, "")],
        "mounts the whole Secret opencode-flux-secret",
    ),
    (
        "git-token-scope",
        [(HELMRELEASE, "- key: GIT_PUSH_TOKEN_${WORKSPACE_GIT_PUSH:=disabled}", "- key: GITHUB_TOKEN")],
        "containers.app reads the git token (Secret key GITHUB_TOKEN",
    ),
    (
        "git-token-scope",
        [(EXTERNALSECRET, 'GIT_PUSH_TOKEN_disabled: ""', 'GIT_PUSH_TOKEN_disabled: "{{ .OPENCODE_FLUX_GITHUB_PAT }}"')],
        "GIT_PUSH_TOKEN_disabled",
    ),
    (
        "opencode-config",
        [(HELMRELEASE, "              OPENCODE_CONFIG: /etc/opencode-workspace/opencode.json\n", "")],
        "has no OPENCODE_CONFIG",
    ),
    ("opencode-config", [(OPENCODE_JSON, '"share": "disabled"', '"share": "manual"')], "share='manual'"),
]


@pytest.mark.parametrize(
    ("rule", "edits", "expected"), CASES, ids=[f"{rule}-{index}" for index, (rule, _, _) in enumerate(CASES)]
)
def test_a_broken_tree_fails_with_the_rule(tree: TreeCopy, rule: str, edits: list[Edit], expected: str) -> None:
    report = assert_broken(tree, rule, edits, expected)
    assert not report.ok


def test_enabling_push_gives_only_the_opencode_container_the_token_and_passes(tree: TreeCopy) -> None:
    tree.replace(FLUX_KS, "WORKSPACE_GIT_PUSH: disabled", "WORKSPACE_GIT_PUSH: enabled")

    report = tree.check()

    assert report.ok, [f"{f.rule}: {f.message}" for f in report.findings]


def test_a_push_switch_that_is_neither_enabled_nor_disabled_fails(tree: TreeCopy) -> None:
    tree.replace(FLUX_KS, "WORKSPACE_GIT_PUSH: disabled", 'WORKSPACE_GIT_PUSH: "yes"')

    found = errors(tree.check(), "link-secret-ref")

    assert any("GIT_PUSH_TOKEN_yes" in f.message for f in found), [f.message for f in found]


RAW_DEPLOYMENT = """---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: probe
spec:
  selector:
    matchLabels: {app: probe}
  template:
    metadata:
      labels: {app: probe}
    spec:
      containers:
        - name: probe
          image: busybox:1.37
          env:
            - name: VERBOSE
              value: ${PROBE_VERBOSE}
"""


def test_env_value_type_breaks_a_raw_pod_spec(tree: TreeCopy) -> None:
    """A substituted `true` in a Deployment written in the tree reaches the API server as a boolean."""
    tree.write("kubernetes/apps/opencode/opencode-flux/app/probe.yaml", RAW_DEPLOYMENT)
    tree.replace(APP_KUSTOMIZATION, "components:", "resources:\n  - ./probe.yaml\ncomponents:")
    tree.replace(FLUX_KS, "      APP: *app\n", '      APP: *app\n      PROBE_VERBOSE: "true"\n')
    found = errors(tree.check(), "env-value-type")
    assert [f.object for f in found] == ["Deployment/opencode/probe"], found
    assert "containers.probe.env.VERBOSE is a bool (True)" in found[0].message
    assert 'value: "true"' in found[0].message


def test_env_booleans_in_app_template_values_are_strings_in_the_pod(tree: TreeCopy) -> None:
    """app-template renders env values with `toString | quote`: an unquoted `true` is the string "true"."""
    tree.replace(FLUX_KS, "      APP: *app\n", '      APP: *app\n      WORKSPACE_GIT_PULL: "true"\n')
    tree.replace(
        HELMRELEASE,
        "              OPENCODE_SERVER_PASSWORD:",
        "              NO_AUTOUPDATE: true\n              OPENCODE_SERVER_PASSWORD:",
    )
    report = tree.check()
    assert not errors(report, "env-value-type"), errors(report, "env-value-type")
    assert not errors(report, "schema-pod"), errors(report, "schema-pod")
    assert report.ok, report.to_text()


HOST_VOLSYNC_TEMPLATE = "kubernetes/templates/volsync/minio.yaml"
VOLSYNC_ES = f"{COMPONENT}/volsync/externalsecret.yaml"


def test_doppler_key_drift_breaks_on_a_key_the_host_does_not_read(tree: TreeCopy) -> None:
    """With the cluster's own VolSync template beside it, a shared key only the workspaces read has drifted."""
    fixture = REPO / "tests/fixtures/jbaker48-k8s-cluster" / HOST_VOLSYNC_TEMPLATE
    tree.write(HOST_VOLSYNC_TEMPLATE, fixture.read_text())
    assert not errors(tree.check(), "doppler-key-drift")  # the component reads the cluster's keys
    tree.replace(VOLSYNC_ES, "MINIO_ROOT_USER }}", "VOLSYNC_MINIO_ACCESS_KEY_ID }}")
    tree.replace(VOLSYNC_ES, "        key: MINIO_ROOT_USER", "        key: VOLSYNC_MINIO_ACCESS_KEY_ID")
    found = errors(tree.check(), "doppler-key-drift")
    assert {f.object for f in found} == {
        "ExternalSecret/opencode/opencode-flux-volsync",
        "ExternalSecret/opencode/opencode-ha-volsync",
    }
    assert "VOLSYNC_MINIO_ACCESS_KEY_ID" in found[0].message
    assert "fills AWS_ACCESS_KEY_ID with '{{ .MINIO_ROOT_USER }}'" in found[0].message


def test_another_opencode_in_a_cluster_repository_is_a_warning_naming_both_versions(tree: TreeCopy) -> None:
    # A cluster repository (no tools/package.json pinning the OpenCode ocw tests): the tag is the user's choice.
    tree.replace(FLUX_KS, "WORKSPACE_IMAGE_TAG: 1.18.33", "WORKSPACE_IMAGE_TAG: 1.19.0-abc1234")

    report = tree.check()

    assert report.ok, [f"{f.rule}: {f.message}" for f in report.errors]
    found = [f for f in report.warnings if f.rule == "opencode-version"]
    assert len(found) == 2, [f.message for f in found]  # the init step and OpenCode, both of opencode-flux
    assert all("tested with OpenCode 1.18.33, running 1.19.0" in f.message for f in found)
    assert all(f.object == "HelmRelease/opencode/opencode-flux" for f in found)


def test_another_opencode_in_this_project_is_an_error_asking_to_move_both_pins(tree: TreeCopy) -> None:
    # This project's own checkout pins OpenCode in tools/package.json: the image tag follows it.
    tree.write("tools/package.json", (REPO / "tools" / "package.json").read_text())
    tree.replace(FLUX_KS, "WORKSPACE_IMAGE_TAG: 1.18.33", "WORKSPACE_IMAGE_TAG: 1.18.0")

    assert_broken(tree, "opencode-version", [], "move both pins together")


def test_the_volume_settings_the_component_documents_are_accepted(tree: TreeCopy) -> None:
    tree.replace(
        FLUX_KS, "VOLSYNC_CAPACITY: 5Gi", "VOLSYNC_CAPACITY: 20Gi\n      VOLSYNC_STORAGECLASS: ceph-filesystem"
    )

    report = tree.check()

    assert report.ok, [f"{f.rule}: {f.message}" for f in report.errors]
    built = load_tree(tree.root, [tree.root / "cluster-vars.example.yaml"], ["opencode-flux"]).manifests()
    pvc = next(m for m in built if m.kind == "PersistentVolumeClaim")
    assert pvc.spec["storageClassName"] == "ceph-filesystem"
    assert pvc.spec["resources"]["requests"]["storage"] == "20Gi"


def test_a_volume_too_small_is_reported_at_the_ks_yaml_line_that_sets_it(tree: TreeCopy) -> None:
    tree.replace(FLUX_KS, "VOLSYNC_CAPACITY: 5Gi", "VOLSYNC_CAPACITY: 100Mi")
    line = tree.text(FLUX_KS).splitlines().index("      VOLSYNC_CAPACITY: 100Mi") + 1

    (found,) = errors(tree.check(), "sec04-volume")

    assert (found.file, found.line, found.owner) == (FLUX_KS, line, "opencode-flux")
    assert f"VOLSYNC_CAPACITY: 100Mi in {FLUX_KS} line {line}" in found.message


def test_resources_above_the_measured_need_are_the_users_with_a_warning(tree: TreeCopy) -> None:
    tree.replace(HELMRELEASE, "memory: 1Gi", "memory: 2Gi")
    tree.replace(
        HELMRELEASE,
        "                cpu: 500m\n                # Not the 512Mi",
        "                cpu: 1\n                # Not the 512Mi",
    )

    report = tree.check()

    assert report.ok, [f"{f.rule}: {f.message}" for f in report.errors]
    warned = sorted({f.message for f in report.warnings if f.rule == "sec05-resources"})
    app = "controllers.opencode.containers.app.resources.limits"
    assert warned == [
        f"{app}.cpu is 1, SEC-05's figure is 500m: fine if you chose it",
        f"{app}.memory is 2Gi, SEC-05's figure is 1Gi: fine if you chose it",
    ]
