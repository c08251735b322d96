"""The workspace rules about who reaches the pod and where it reaches: the route's Origin gate and the network
policy, for every workspace the tree defines."""

from __future__ import annotations

from ocw.check.inventory import Inventory, rendered_workspaces
from ocw.check.network_policy import check_network_policy
from ocw.check.origin_gate import check_origin_gate
from ocw.check.workspace_view import rendered
from ocw.findings import Finding
from ocw.tree import Tree


def check_network(tree: Tree, inventory: Inventory) -> list[Finding]:
    findings: list[Finding] = []
    for workspace in rendered_workspaces(tree, inventory):
        view = rendered(workspace)
        findings.extend(check_origin_gate(view))
        findings.extend(check_network_policy(view))
    return findings
