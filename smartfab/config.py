"""Settings: where data lives, which store, which ports. Read from a YAML file (``--config``) and
``SMARTFAB_*`` environment variables, in that order of precedence (environment wins)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smartfab.errors import SmartfabError

M = TypeVar("M", bound=BaseModel)
Section = Literal["alarm_notify", "reports", "assessment"]
DEMO_PLANT = Path(__file__).parent / "model" / "plants" / "demo.yaml"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Path("smartfab-data")
    # duckdb:///path/to/file.duckdb (default: <data_dir>/smartfab.duckdb), or
    # postgresql://user:password@host:5432/database for a server
    store_url: str = ""
    plant: Path = DEMO_PLANT
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=0, le=65535)
    # HTTPS for the web app and API: certificate and private key (PEM); `smartfab certs create`
    # makes a self-signed pair for a first install. Without them the API speaks plain HTTP.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    seed: int = 42
    # Alarm notifications (webhook, e-mail; see NotifySettings), scheduled reports (see
    # ReportSchedule; mailed through the same SMTP server) and the periodic maintenance
    # assessment (see AssessmentSchedule). Checked by the commands that use them, so that
    # loading settings stays light for every other command.
    alarm_notify: dict[str, Any] = Field(default_factory=dict)
    reports: dict[str, Any] = Field(default_factory=dict)
    assessment: dict[str, Any] = Field(default_factory=dict)
    # The national statistics of the transformation insights (an econ folder: World Bank WDI,
    # NBS and MIIT statements; see docs/transformation.md). Nothing is downloaded: without it the
    # web app's insights page says how to set it, and the KPIs have no national figures.
    insights_data: Path | None = None

    @field_validator("insights_data", mode="before")
    @classmethod
    def _unset(cls, value: Any) -> Any:
        return None if value == "" else value  # SMARTFAB_INSIGHTS_DATA= unsets it

    @property
    def store_location(self) -> str | Path:
        """The PostgreSQL URL, or the path of the DuckDB file."""
        from smartfab.platform.store import is_postgres_url  # light: no driver is imported

        if is_postgres_url(self.store_url):
            return self.store_url
        if self.store_url.startswith("duckdb:///"):
            return Path(self.store_url.removeprefix("duckdb:///"))
        if self.store_url:
            raise SmartfabError(
                f"store_url {self.store_url!r}: give duckdb:///PATH or postgresql://..."
            )
        return self.data_dir / "smartfab.duckdb"

    @property
    def security_file(self) -> Path:
        """The security database: next to the DuckDB store file; in the data folder when the
        store is PostgreSQL."""
        location = self.store_location
        folder = location.parent if isinstance(location, Path) else self.data_dir
        return folder / "security.sqlite"

    @property
    def store_name(self) -> str:
        """The store as messages name it: without a password."""
        return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", str(self.store_location))

    def addresses(self) -> list[tuple[str, str]]:
        """Every address the settings make smartfab talk to (what, URL or host): a PostgreSQL
        store, the alarm and report webhooks and mail servers. Where, not what: without
        passwords, and a webhook without its path (which often holds its secret)."""
        out: list[tuple[str, str]] = []
        if isinstance(self.store_location, str):
            out.append(("store", self.store_name))
        for section in ("alarm_notify", "reports"):
            values = getattr(self, section)
            if values.get("webhook_url"):
                url = urlsplit(str(values["webhook_url"]))
                host = url.netloc.rpartition("@")[2]
                out.append((f"{section} webhook", f"{url.scheme}://{host}"))
            if values.get("smtp_host"):
                out.append((f"{section} mail server", str(values["smtp_host"])))
        return out

    def section(self, name: Section, model: type[M]) -> M:
        """One section checked by the model of the layer that owns its concept (for example
        ``NotifySettings`` of the alarms): a wrong value names the setting."""
        values: dict[str, Any] = getattr(self, name)
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in (name, *first["loc"]))
            raise SmartfabError(
                f"setting {field!r} = {first.get('input')!r}: {first['msg']}"
            ) from exc


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Settings from ``path`` (optional), then the environment, then explicit overrides."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise SmartfabError(f"{path}: cannot read config file: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise SmartfabError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise SmartfabError(f"{path}: a config file must be a mapping of setting: value")
        values.update(loaded)
    for name in Settings.model_fields:
        env = os.environ.get(f"SMARTFAB_{name.upper()}")
        if env is not None:
            values[name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        where = f"{path}: " if path else ""
        raise SmartfabError(
            f"{where}setting {field!r} = {first.get('input')!r}: {first['msg']}"
        ) from exc
