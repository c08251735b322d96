"""The same private user cache and tree copy as the check tests."""

from check.conftest import private_schema_cache, tree

__all__ = ["private_schema_cache", "tree"]
