"""Settings of sse-flows (pydantic-settings, ``SSE_FLOWS_`` environment prefix).

Values are read, in order of precedence, from keyword arguments, ``SSE_FLOWS_*``
environment variables, a YAML file (``SSE_FLOWS_CONFIG_FILE``, default
``$SSE_FLOWS_HOME/config.yaml`` when it exists) and the defaults below.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent


class ConfigError(RuntimeError):
    """A configuration problem a user must fix; the message names the problem and the fix."""


def _default_home() -> Path:
    return Path(os.environ.get("SSE_FLOWS_HOME") or Path.home() / ".sse_flows").expanduser()


def _default_raw_data_dir() -> Path:
    """The reference data folder ``../shared/data/raw`` beside a source checkout."""
    return (PROJECT_ROOT.parent / "shared" / "data" / "raw").resolve()


def _config_file() -> Path | None:
    explicit = os.environ.get("SSE_FLOWS_CONFIG_FILE")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"SSE_FLOWS_CONFIG_FILE={explicit} does not exist; create it or unset the variable."
            )
        return path
    default = _default_home() / "config.yaml"
    return default if default.is_file() else None


class SseFlowsSettings(BaseSettings):
    """All run-time settings of sse-flows."""

    model_config = SettingsConfigDict(env_prefix="SSE_FLOWS_", extra="forbid")

    HOME: Path = Field(
        default_factory=_default_home,
        description="Directory holding the embedded stores, logs and reports of this installation.",
    )
    RAW_DATA_DIR: Path = Field(
        default_factory=_default_raw_data_dir,
        description="Folder of the raw reference data (shared/data/raw); data builds read it.",
    )
    MONGODB_URI: str | None = Field(
        default=None,
        description="MongoDB connection URI. Unset: embedded stores under HOME (no server needed).",
    )
    MONGODB_DATABASE: str = Field(
        default="sse_flows", description="Database name used with MONGODB_URI."
    )
    MONGODB_TIMEOUT_MS: int = Field(
        default=5000, description="Server selection timeout when connecting to MongoDB (ms)."
    )
    MP_API_KEY: str | None = Field(
        default=None, description="Materials Project API key (also read from MP_API_KEY)."
    )
    SOURCE: str = Field(
        default="snapshot", description="Default materials source: 'snapshot' (offline) or 'mp'."
    )

    @field_validator("HOME", "RAW_DATA_DIR", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError(
                "is empty (it would mean the current folder); set it to a folder, or unset "
                "it for the default"
            )
        return value

    @field_validator("HOME", "RAW_DATA_DIR", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return Path(value).expanduser().resolve()

    @field_validator("SOURCE")
    @classmethod
    def _check_source(cls, value: str) -> str:
        if value not in ("snapshot", "mp"):
            raise ValueError("SOURCE must be 'snapshot' or 'mp'")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = _config_file()
        if config is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config))
        return tuple(sources)

    # Derived locations -------------------------------------------------------------
    @property
    def embedded_dir(self) -> Path:
        """Folder of the embedded (no-server) stores."""
        return self.HOME / "stores"

    @property
    def reports_dir(self) -> Path:
        """Default folder for HTML reports."""
        return self.HOME / "reports"

    @property
    def logs_dir(self) -> Path:
        """Folder for launcher logs."""
        return self.HOME / "logs"

    @property
    def mp_api_key(self) -> str | None:
        """MP key from settings, else the ``MP_API_KEY`` variable mp-api itself reads."""
        return self.MP_API_KEY or os.environ.get("MP_API_KEY") or None

    @property
    def embedded(self) -> bool:
        """True when no MongoDB URI is configured."""
        return not self.MONGODB_URI


def load_settings(**overrides: Any) -> SseFlowsSettings:
    """Build settings, turning validation errors into a :class:`ConfigError` with the fix."""
    from pydantic import ValidationError

    try:
        return SseFlowsSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"SSE_FLOWS_{'.'.join(str(part) for part in error['loc'])} "
            f"{error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        )
        raise ConfigError(
            f"Invalid sse-flows configuration: {problems}. Fix the SSE_FLOWS_* variable or the "
            "YAML config file named by SSE_FLOWS_CONFIG_FILE."
        ) from None
    except Exception as exc:  # yaml errors from a corrupt config file
        raise ConfigError(
            f"Could not read the sse-flows config file: {exc}. Fix or remove it."
        ) from exc


@lru_cache(maxsize=1)
def _cached() -> SseFlowsSettings:
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (the next :func:`get_settings` re-reads the environment)."""
    _cached.cache_clear()


def get_settings(fresh: bool = False) -> SseFlowsSettings:
    """Settings of the current process (cached; ``fresh=True`` re-reads the environment)."""
    if fresh:
        _cached.cache_clear()
    return _cached()
