"""What the reward server takes: one declaration of every server setting, its default and its
help. ``flexjudge serve`` builds its flags from it; :func:`flexjudge.serve.create_app` reads
it. (The judge's own settings are :class:`~flexjudge.judge.JudgeConfig`'s.)"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, fields

from flexjudge.errors import ConfigError
from flexjudge.options import option

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServeConfig:
    """Where the server listens, who may call it, how it batches and what it refuses."""

    host: str = option(
        "127.0.0.1", "Address to bind. Anything but loopback without --api-key-env is warned of."
    )
    port: int = option(8000, "Port to bind.")
    api_key_env: str | None = option(
        None,
        "Environment variable holding the key clients must send as 'Authorization: Bearer "
        "KEY' (every endpoint but /health).",
    )
    store: str = option(
        "flexjudge-serve.sqlite",
        "SQLite store of engine completions: every completion goes through it, so a "
        "restarted server answers repeats from it.",
    )
    max_batch: int = option(16, "Judge requests coalesced into one engine batch at most.")
    max_wait_ms: float = option(
        5.0, "How long an idle worker waits for more requests to join a batch (milliseconds)."
    )
    max_queue: int = option(
        256, "Judge requests waiting for the engine at most; beyond it, 429 with Retry-After."
    )
    deadline_s: float = option(
        150.0,
        "Seconds a request may wait for its verdicts; then 504 deadline_exceeded (its "
        "completion, if already started, still lands in the store).",
    )
    max_body_bytes: int = option(32 * MIB, "Largest request body (bytes); beyond it, 413.")
    max_items: int = option(
        64, "Judge requests in one /v1/judge body (or queries in one /get_reward)."
    )
    max_responses: int = option(26, "Candidate responses in one judge request.")
    max_media_bytes: int = option(
        16 * MIB, "Media bytes in one HTTP request, inline (decoded) and files together."
    )
    media_root: str | None = option(
        None,
        "Folder that media paths are read from (relative paths only; '..', absolute paths "
        "and symlinks are refused). Without it, media must come inline (base64 data URLs).",
    )
    invalid_reward: float = option(
        0.0, "/get_reward's reward for a query whose verdict is invalid or an error."
    )
    reward_scale: str = option(
        "1-10", "/get_reward: the score scale the judge is asked for (rewards are mapped to 0..1)."
    )
    labels_as_reference: bool = option(
        True, "/get_reward: show a non-empty label to the judge as the reference answer."
    )
    log_level: str = option(
        "info", "Log level of the server.", choices=("debug", "info", "warning", "error")
    )

    def __post_init__(self) -> None:
        for name in ("port", "max_batch", "max_queue", "max_body_bytes", "max_items"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{name} must be an integer, got {value!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be 0 to 65535, got {self.port}")
        for name in ("max_batch", "max_queue", "max_body_bytes", "max_items", "max_responses"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_media_bytes < 0:
            raise ConfigError(f"max_media_bytes must be >= 0, got {self.max_media_bytes}")
        for name in ("max_wait_ms", "deadline_s", "invalid_reward"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"{name} must be a finite number, got {getattr(self, name)}")
        if self.max_wait_ms < 0:
            raise ConfigError(f"max_wait_ms must be >= 0, got {self.max_wait_ms}")
        if self.deadline_s <= 0:
            raise ConfigError(f"deadline_s must be above 0, got {self.deadline_s}")

    @property
    def loopback(self) -> bool:
        """Whether :attr:`host` only accepts connections from this machine."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))
