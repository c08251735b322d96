"""Rule precedence as the Gateway API specification defines it, checked against the specification's own examples:
the HTTPRoutes of its conformance tests and the answers those tests expect (tests/fixtures/gateway-api-conformance).
The stand-in gateway of the browser and verify tests decides with this code, so it routes as Envoy Gateway would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ocw.gatewayapi.httproute import Request, Route, answer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gateway-api-conformance"
EXPECTATIONS: dict[str, list[dict[str, Any]]] = yaml.safe_load((FIXTURES / "expectations.yaml").read_text())


def _routes(file: str) -> list[Route]:
    documents = [d for d in yaml.safe_load_all((FIXTURES / file).read_text()) if d and d.get("kind") == "HTTPRoute"]
    return [
        Route(
            namespace=d["metadata"]["namespace"],
            name=d["metadata"]["name"],
            hostnames=tuple(d["spec"].get("hostnames") or ()),
            rules=tuple(d["spec"].get("rules") or ()),
        )
        for d in documents
    ]


CASES = [
    pytest.param(file, case, id=f"{file.removeprefix('httproute-').removesuffix('.yaml')}-{index}")
    for file, cases in EXPECTATIONS.items()
    for index, case in enumerate(cases)
]


def test_every_routes_file_has_its_expectations() -> None:
    assert sorted(EXPECTATIONS) == sorted(p.name for p in FIXTURES.glob("httproute-*.yaml"))


@pytest.mark.parametrize(("file", "case"), CASES)
def test_the_gateway_answers_as_the_conformance_test_expects(file: str, case: dict[str, Any]) -> None:
    request = Request.of(case.get("method", "GET"), case["path"], case.get("headers") or {}, case.get("host", ""))
    result = answer(_routes(file), request, lambda kind, namespace, name: None)
    if "backend" in case:
        assert result.forwarded, (case, result)
        assert [ref["name"] for ref in result.backend_refs] == [case["backend"]], case
    else:
        assert result.status == case["status"], (case, result)


def test_swapping_two_tied_rules_changes_the_answer() -> None:
    """The last criterion, rule order, really decides between equal matches (not the order of evaluation)."""
    route = _routes("httproute-header-matching.yaml")[0]
    request = Request.of("GET", "/", {"Version": "two", "Color": "blue"})
    swapped = Route(route.namespace, route.name, route.hostnames, tuple(reversed(route.rules)))
    first = answer([route], request, lambda *_: None)
    second = answer([swapped], request, lambda *_: None)
    assert [r["name"] for r in first.backend_refs] == ["infra-backend-v2"]
    assert [r["name"] for r in second.backend_refs] == ["infra-backend-v1"]


def test_the_older_route_wins_a_tie_across_routes() -> None:
    rule = {"backendRefs": [{"name": "a"}]}
    older = Route("ns", "zeta", (), ({**rule, "backendRefs": [{"name": "older"}]},), created="2026-01-01T00:00:00Z")
    newer = Route("ns", "alpha", (), (rule,), created="2026-06-01T00:00:00Z")
    assert answer([newer, older], Request.of("GET", "/x"), lambda *_: None).backend_refs[0]["name"] == "older"
    same_age = Route("ns", "zeta", (), ({"backendRefs": [{"name": "zeta"}]},))
    first_by_name = Route("ns", "alpha", (), ({"backendRefs": [{"name": "alpha"}]},))
    by_name = answer([same_age, first_by_name], Request.of("GET", "/x"), lambda *_: None)
    assert by_name.backend_refs[0]["name"] == "alpha"


def test_an_exact_hostname_outranks_a_wildcard() -> None:
    wildcard = Route("ns", "a", ("*.example.com",), ({"backendRefs": [{"name": "wild"}]},))
    exact = Route("ns", "b", ("foo.example.com",), ({"backendRefs": [{"name": "exact"}]},))
    pick = answer([wildcard, exact], Request.of("GET", "/", host="foo.example.com:8443"), lambda *_: None)
    assert pick.backend_refs[0]["name"] == "exact"
    other = answer([wildcard, exact], Request.of("GET", "/", host="bar.example.com"), lambda *_: None)
    assert other.backend_refs[0]["name"] == "wild"
    assert answer([wildcard], Request.of("GET", "/", host="example.com"), lambda *_: None).status == 404
