"""Which schema file the catalog picks: the first layer holding it, the newest app-template version within a layer."""

from __future__ import annotations

from pathlib import Path

from ocw.schemas.catalog import VENDORED_SCHEMAS, Missing, SchemaCatalog, values_schema_in


def values_dir(root: Path, version: str) -> Path:
    target = root / f"app-template-common-{version}" / "values.schema.json"
    target.parent.mkdir(parents=True)
    target.write_text("{}")
    return target


def test_the_newest_values_schema_is_chosen_by_version_not_by_name(tmp_path: Path) -> None:
    values_dir(tmp_path, "4.9.0")
    newest = values_dir(tmp_path, "4.10.0")
    (tmp_path / "app-template-common-latest").mkdir()  # not a version: ignored
    assert values_schema_in(tmp_path) == newest


def test_a_values_schema_in_the_schemas_directory_wins(tmp_path: Path) -> None:
    mine = values_dir(tmp_path / "mine", "4.0.0")  # older than the vendored one, still the user's choice
    assert SchemaCatalog(tmp_path / "mine").app_template_values() == mine
    assert (
        SchemaCatalog(None).app_template_values()
        == VENDORED_SCHEMAS / "app-template-common-4.1.1" / "values.schema.json"
    )


def test_the_cache_wins_over_the_vendored_copy_and_a_schemas_directory_over_both(
    tmp_path: Path, private_schema_cache: Path
) -> None:
    relative = Path("crds/cert-manager.io/certificate_v1.json")
    assert SchemaCatalog(None).crd("cert-manager.io", "Certificate", "v1") == VENDORED_SCHEMAS / relative
    for root in (private_schema_cache, tmp_path / "mine"):
        (root / relative).parent.mkdir(parents=True)
        (root / relative).write_text("{}")
    assert SchemaCatalog(None).crd("cert-manager.io", "Certificate", "v1") == private_schema_cache / relative
    assert SchemaCatalog(tmp_path / "mine").crd("cert-manager.io", "Certificate", "v1") == tmp_path / "mine" / relative


def test_with_a_schemas_directory_a_missing_crd_is_never_downloaded(tmp_path: Path, private_schema_cache: Path) -> None:
    found = SchemaCatalog(tmp_path).crd("example.com", "Widget", "v1")
    assert isinstance(found, Missing)
    assert "not in the --schemas directory, the cache or the vendored schemas" in found.message()
    assert not private_schema_cache.exists()
