"""The workspace rules about who reaches the pod and where it reaches: the route's Origin gate and the network
policy, for every workspace the tree defines."""

from __future__ import annotations

from ocw.check.network_policy import check_network_policy
from ocw.check.origin_gate import check_origin_gate
from ocw.check.workspace_view import rendered
from ocw.errors import OcwError
from ocw.findings import Finding
from ocw.tree import Tree
from ocw.workspace import workspaces_in


def check_network(tree: Tree) -> list[Finding]:
    try:
        workspaces = workspaces_in(tree)
    except OcwError:
        return []  # a workspace app-template cannot render: the schema and policy rules say why
    findings: list[Finding] = []
    for workspace in workspaces:
        view = rendered(workspace)
        findings.extend(check_origin_gate(view))
        findings.extend(check_network_policy(view))
    return findings
