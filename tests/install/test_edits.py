"""The text-level insertions into kustomization.yaml files, and a new workspace's ks.yaml made from the template."""

from __future__ import annotations

import re

import pytest

from ocw.errors import OcwError
from ocw.install import ks_template
from ocw.install.kustomization_edit import ShapeError, add_patch, add_resource, flux_aggregator_position

HEAD = "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
TARGET = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "envoy-internal"}


def test_an_entry_already_listed_in_another_spelling_is_not_added_twice() -> None:
    text = HEAD + "resources:\n  - 'opencode.yaml'\n  - ./a.yaml\n"
    edit = add_resource(text, "./opencode.yaml")
    assert not edit.changed
    assert edit.text == text


def test_crlf_line_endings_and_a_missing_final_newline_are_kept() -> None:
    text = (HEAD + "resources:\n  - ./a.yaml").replace("\n", "\r\n")
    edit = add_resource(text, "./b.yaml")
    assert edit.text == (HEAD + "resources:\n  - ./a.yaml\n  - ./b.yaml\n").replace("\n", "\r\n")


def test_the_aggregator_keeps_the_namespace_first_and_the_apps_alphabetical() -> None:
    text = HEAD + "resources:\n  - ./namespace.yaml\n  - ./opencode-flux/ks.yaml\n  - ./opencode-ha/ks.yaml\n"
    first = add_resource(text, "./opencode-docs/ks.yaml", flux_aggregator_position).text
    last = add_resource(first, "./opencode-zed/ks.yaml", flux_aggregator_position).text
    middle = add_resource(last, "./opencode-go/ks.yaml", flux_aggregator_position).text
    listed = [line.removeprefix("  - ") for line in middle.splitlines() if line.startswith("  - ")]
    assert listed == [
        "./namespace.yaml",
        "./opencode-docs/ks.yaml",
        "./opencode-flux/ks.yaml",
        "./opencode-go/ks.yaml",
        "./opencode-ha/ks.yaml",
        "./opencode-zed/ks.yaml",
    ]


def test_a_patch_already_there_is_recognised_and_one_with_another_target_is_refused() -> None:
    text = HEAD + "patches:\n  - path: opencode-listener.yaml\n    target: {group: gateway.networking.k8s.io, "
    text += "kind: Gateway, name: envoy-internal}\n"
    assert not add_patch(text, "./opencode-listener.yaml", TARGET).changed
    other = text.replace("envoy-internal", "envoy-external")
    with pytest.raises(ShapeError, match=re.escape("expected the patch ./opencode-listener.yaml to target")):
        add_patch(other, "./opencode-listener.yaml", TARGET)


SHAPES = {
    "flow list": (HEAD + "resources: [./a.yaml]\n", "block list"),
    "empty list": (HEAD + "resources:\nnamespace: x\n", "expected `resources:` to be a list of paths, found nothing"),
    "a map": (HEAD + "resources:\n  a: b\n", "expected `resources:` to be a list of paths, found a dict"),
    "no resources": (HEAD + "namespace: network\n", "expected a `resources:` list, found none"),
    "two documents": (HEAD + "resources:\n  - ./a.yaml\n" + HEAD, "expected one YAML document"),
    "not YAML": (HEAD + "resources:\n  - ./a.yaml\n   bad: [\n", "expected valid YAML"),
    "duplicate key": (HEAD + "resources:\n  - ./a.yaml\nresources:\n  - ./b.yaml\n", "duplicate key"),
    "another kind": ("apiVersion: v1\nkind: ConfigMap\nresources:\n  - ./a.yaml\n", "expected kind Kustomization"),
}


@pytest.mark.parametrize(("text", "message"), SHAPES.values(), ids=SHAPES.keys())
def test_a_file_in_a_shape_not_understood_is_refused(text: str, message: str) -> None:
    with pytest.raises(ShapeError, match=re.escape(message)):
        add_resource(text, "./opencode.yaml")


TEMPLATE = """---
# the schema comment
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: &app opencode-flux
  namespace: flux-system
spec:
  path: ./kubernetes/apps/opencode/opencode-flux/app
  postBuild:
    substitute:
      APP: *app
      WORKSPACE_HOST: flux  # the hostname label
      WORKSPACE_DIR: /Users/jbaker/git/k8s-cluster
      WORKSPACE_GIT_PUSH: disabled
      VOLSYNC_SCHEDULE: "35 * * * *"
"""


def test_a_variable_install_does_not_know_flows_through_from_the_template() -> None:
    values = {"WORKSPACE_HOST": "docs", "WORKSPACE_DIR": "/Users/jbaker/git/docs", "VOLSYNC_SCHEDULE": "30 * * * *"}
    text = ks_template.render(TEMPLATE, "opencode-flux", "opencode-docs", values, set(values))
    assert text == (
        TEMPLATE.replace("opencode-flux", "opencode-docs")
        .replace("WORKSPACE_HOST: flux", "WORKSPACE_HOST: docs")
        .replace("git/k8s-cluster", "git/docs")
        .replace('"35 * * * *"', '"30 * * * *"')
    )


def test_a_per_workspace_variable_install_cannot_set_stops_it() -> None:
    other = TEMPLATE.replace("disabled", "enabled").replace("flux", "ha")
    documents = [ks_template._substitute(ks_template._document(t)) for t in (TEMPLATE, other)]
    must_set = ks_template.per_workspace_keys(documents)
    assert "WORKSPACE_GIT_PUSH" in must_set
    values = {"WORKSPACE_HOST": "docs", "WORKSPACE_DIR": "/Users/jbaker/git/docs", "VOLSYNC_SCHEDULE": "30 * * * *"}
    with pytest.raises(
        OcwError, match=re.escape("different per workspace but not set by install: ['WORKSPACE_GIT_PUSH']")
    ):
        ks_template.render(TEMPLATE, "opencode-flux", "opencode-docs", values, must_set)


def test_a_value_that_plain_yaml_would_change_is_quoted() -> None:
    values = {"WORKSPACE_HOST": "docs", "WORKSPACE_DIR": "/Users/jbaker/git/yes: no", "VOLSYNC_SCHEDULE": "30 * * * *"}
    text = ks_template.render(TEMPLATE, "opencode-flux", "opencode-docs", values, set())
    assert '      WORKSPACE_DIR: "/Users/jbaker/git/yes: no"\n' in text
