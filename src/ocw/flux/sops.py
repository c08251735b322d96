"""SOPS-encrypted files: kustomize-controller decrypts them at reconcile time, so offline their values are ciphertext
and their `sops:` metadata block is not part of the object the API server receives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ENCRYPTED_VALUE_PREFIX = "ENC["


def is_sops_encrypted(obj: Mapping[str, Any]) -> bool:
    """True for a document SOPS encrypted: a top-level `sops` map carrying its metadata (`mac`, recipients)."""
    metadata = obj.get("sops")
    return isinstance(metadata, Mapping) and any(
        key in metadata for key in ("mac", "age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "lastmodified")
    )


def without_sops(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object as kustomize-controller applies it after decryption: no `sops` block (values stay ciphertext)."""
    return {key: value for key, value in obj.items() if key != "sops"}
