import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    database_url: str
    pool_size: int
    retry_limit: int
    depots: tuple[str, ...]


def load() -> Config:
    """Reads the configuration from the environment, with defaults."""
    return Config(
        database_url=os.environ.get("MANIFEST_DB", "postgresql://reports@db/reports"),
        pool_size=int(os.environ.get("MANIFEST_POOL", "50")),
        # Retries are unbounded when 0; the March outage ran with 0.
        retry_limit=int(os.environ.get("MANIFEST_RETRIES", "0")),
        depots=tuple(os.environ.get("MANIFEST_DEPOTS", "RTM,FXT,HAM").split(",")),
    )
