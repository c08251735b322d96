"""Flux postBuild substitution as kustomize-controller applies it."""

from __future__ import annotations

import pytest

from ocw.flux.substitution import SubstitutionError, is_disabled, substitute

VARIABLES = {"APP": "opencode-flux", "SECRET_DOMAIN": "example.com", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: ${APP}", "name: opencode-flux"),
        ("host: flux.opencode.${SECRET_DOMAIN}", "host: flux.opencode.example.com"),
        ("tls: ${SECRET_DOMAIN/./-}-production-tls", "tls: example-com-production-tls"),
        ("x: ${SECRET_DOMAIN//o/0}", "x: example.c0m"),
        ("class: ${STORAGE:=ceph-block}", "class: ceph-block"),
        ("class: ${EMPTY:-fallback}", "class: fallback"),
        ("class: ${EMPTY-fallback}", "class: "),  # set but empty: no default without ':'
        ("nested: ${CLAIM:-${APP}}", "nested: opencode-flux"),
        ("length: ${#APP}", "length: 13"),
        ("upper: ${APP^^}", "upper: OPENCODE-FLUX"),
        ("shell: $HOME and $1 stay", "shell: $HOME and $1 stay"),
        ("escaped: $${APP}", "escaped: ${APP}"),
    ],
)
def test_substitution_forms(text: str, expected: str) -> None:
    assert substitute(text, VARIABLES).text == expected


def test_undefined_variables_become_empty_and_are_reported() -> None:
    result = substitute("a: ${MISSING}\nb: ${ALSO_MISSING/x/y}\nc: ${DEFAULTED:=ok}", VARIABLES)
    assert result.text == "a: \nb: \nc: ok"
    assert sorted(result.undefined) == ["ALSO_MISSING", "MISSING"]


def test_an_unterminated_expression_is_an_error() -> None:
    with pytest.raises(SubstitutionError, match="unterminated"):
        substitute("a: ${APP:-oops", VARIABLES)


def test_the_opt_out_annotation() -> None:
    annotated = {"metadata": {"annotations": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}}}
    assert is_disabled(annotated)
    assert is_disabled({"metadata": {"labels": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}}})
    assert not is_disabled({"metadata": {"annotations": {"kustomize.toolkit.fluxcd.io/substitute": "enabled"}}})
    assert not is_disabled({"kind": "ConfigMap"})
