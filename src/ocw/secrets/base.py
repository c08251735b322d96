"""The interface every secret-store transport implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from ocw.secrets.location import StoreLocation


class SecretStore(ABC):
    """One Doppler config. Reading names reveals no value; values are read only through `get`/`get_many`."""

    transport: str

    def __init__(self, location: StoreLocation) -> None:
        self.location = location

    @property
    def project(self) -> str:
        return self.location.project

    @property
    def config(self) -> str:
        return self.location.config

    def describe(self) -> str:
        return f"{self.location.describe()} via {self.transport}"

    @abstractmethod
    def names(self) -> set[str]:
        """Every secret name in the config."""

    @abstractmethod
    def get_many(self, names: Iterable[str]) -> dict[str, str]:
        """The raw values of those of `names` that exist (absent names are left out), in one round trip."""

    @abstractmethod
    def set(self, name: str, value: str) -> None:
        """Create or replace one secret."""

    @abstractmethod
    def last_changed(self, names: Iterable[str]) -> dict[str, str]:
        """When each of `names` last changed (ISO 8601), for those the config's change log mentions."""

    def get(self, name: str) -> str | None:
        return self.get_many([name]).get(name)
