"""Settings from a file and the environment, and their sections checked by the commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartfab.apps.monitoring.alarms.notify import NotifySettings
from smartfab.apps.monitoring.report_schedule import ReportSchedule
from smartfab.config import load_settings
from smartfab.errors import SmartfabError


def test_file_then_environment_then_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "smartfab.yaml"
    config.write_text("api_port: 9000\nseed: 1\n", encoding="utf-8")
    monkeypatch.setenv("SMARTFAB_SEED", "2")
    s = load_settings(config, data_dir=tmp_path)
    assert (s.api_port, s.seed, s.data_dir) == (9000, 2, tmp_path)


def test_notification_and_report_sections(tmp_path: Path) -> None:
    config = tmp_path / "smartfab.yaml"
    config.write_text(
        "alarm_notify:\n  smtp_host: mail.plant.example\n  mail_to: [ops@plant.example]\n"
        "reports:\n  folder: /srv/reports\n  kinds: [day]\n",
        encoding="utf-8",
    )
    s = load_settings(config)
    assert s.section("alarm_notify", NotifySettings).smtp_host == "mail.plant.example"
    schedule = s.section("reports", ReportSchedule)
    assert (schedule.folder, schedule.kinds) == (Path("/srv/reports"), ["day"])
    assert (
        load_settings().section("reports", ReportSchedule).folder is None
    )  # no reports unless asked


def test_a_wrong_section_value_names_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "smartfab.yaml"
    config.write_text("reports:\n  kinds: [week]\n", encoding="utf-8")
    with pytest.raises(SmartfabError, match=r"setting 'reports\.kinds\.0' = 'week'"):
        load_settings(config).section("reports", ReportSchedule)
    config.write_text("alarm_notify:\n  smtp_port: 0\n", encoding="utf-8")
    with pytest.raises(SmartfabError, match=r"setting 'alarm_notify\.smtp_port' = 0"):
        load_settings(config).section("alarm_notify", NotifySettings)


def test_the_addresses_the_settings_make_smartfab_talk_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where, never a secret: the store's password and a webhook's path are left out."""
    monkeypatch.setenv("SMARTFAB_INSIGHTS_DATA", str(tmp_path / "econ"))
    s = load_settings(
        store_url="postgresql://fab:secret@db.example.com:5432/fab",
        alarm_notify={"webhook_url": "https://u:p@hooks.example.com/T0/B0/XYZ", "smtp_host": "mx"},
    )
    assert s.insights_data == tmp_path / "econ"
    assert s.addresses() == [
        ("store", "postgresql://fab:***@db.example.com:5432/fab"),
        ("alarm_notify webhook", "https://hooks.example.com"),
        ("alarm_notify mail server", "mx"),
    ]
    monkeypatch.setenv("SMARTFAB_INSIGHTS_DATA", "")
    assert load_settings().addresses() == [] and load_settings().insights_data is None
