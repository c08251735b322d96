"""Chart version constraints as Helm and Flux read them (Masterminds semver)."""

from __future__ import annotations

import pytest

from ocw.helm.semver import Constraint, Version

VERSIONS = [Version.parse(v) for v in ("3.7.3", "4.0.0", "4.1.1", "4.4.0", "4.5.0-rc.1", "5.0.1", "0.2.3", "0.3.0")]


@pytest.mark.parametrize(
    ("constraint", "newest"),
    [
        ("4.4.0", "4.4.0"),
        ("v4.4.0", "4.4.0"),
        ("4.x", "4.4.0"),
        ("4", "4.4.0"),
        ("*", "5.0.1"),
        (">= 4.0.0, < 5", "4.4.0"),
        (">=4.0.0 <4.4.0", "4.1.1"),
        ("~4.1", "4.1.1"),
        ("~4.1.0", "4.1.1"),
        ("^4.1", "4.4.0"),
        ("^0.2.1", "0.2.3"),
        ("> 4.1", "5.0.1"),
        ("<= 4.1", "4.1.1"),
        ("4.0.0 - 4.2.0", "4.1.1"),
        ("3.x || 5.x", "5.0.1"),
        ("!=5.0.1", "4.4.0"),
        (">= 4.5.0-rc.0, < 5", "4.5.0-rc.1"),
    ],
)
def test_the_newest_allowed_version(constraint: str, newest: str) -> None:
    assert str(Constraint.parse(constraint).newest(VERSIONS)) == newest


def test_a_prerelease_only_for_a_constraint_that_names_one() -> None:
    assert Constraint.parse(">= 4.4.0, < 5").newest(VERSIONS) == Version.parse("4.4.0")


def test_exact_means_one_version() -> None:
    assert Constraint.parse("4.4.0").exact == Version.parse("4.4.0")
    assert Constraint.parse("=4.4.0").exact == Version.parse("4.4.0")
    assert Constraint.parse("4.4").exact is None
    assert Constraint.parse(">=4.4.0").exact is None


def test_ordering_puts_a_release_after_its_prereleases() -> None:
    assert Version.parse("4.5.0-rc.1") < Version.parse("4.5.0") < Version.parse("4.10.0")
    assert Version.parse("1.0.0-alpha") < Version.parse("1.0.0-alpha.1") < Version.parse("1.0.0-beta")
