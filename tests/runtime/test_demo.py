"""The demo's history: enough production whatever the weekday; the plant file it edits."""

from __future__ import annotations

from pathlib import Path

from smartfab.config import DEMO_PLANT, Settings
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.demo import editable_plant


def test_demo_history_holds_three_worked_days_whatever_the_weekday(tmp_path: Path) -> None:
    """A demo started on a Sunday evening backfills production of Wednesday to Friday, not a
    weekend of a stopped plant: every shift row of the line page's three days shows output."""
    import asyncio

    import yaml

    from smartfab.apps.monitoring.production import asset_oee
    from smartfab.model.loader import load_plant
    from smartfab.runtime.backfill import run_backfill
    from smartfab.runtime.demo import history_start
    from smartfab.runtime.output import LogOutput

    # One press of the demo plant: the same calendar, a fraction of the points to simulate.
    doc = yaml.safe_load(DEMO_PLANT.read_text())
    area = next(a for a in doc["site"]["areas"] if a["name"] == "pressing")
    cell = area["lines"][0]["cells"][0]
    cell["equipment"] = cell["equipment"][:1]
    area["lines"][0]["cells"] = [cell]
    doc["site"]["areas"] = [area]
    (tmp_path / "plant.yaml").write_text(yaml.safe_dump(doc))
    plant = load_plant(tmp_path / "plant.yaml")
    line = "shenyang/pressing/press-line-1"

    sunday_evening = 1_796_558_400_000_000  # 2026-12-06 20:00 Asia/Shanghai (12:00 UTC)
    start = history_start(plant, None, sunday_evening, None, worked_days=3)
    with DuckDBStore(tmp_path / "smartfab.duckdb") as store:
        asyncio.run(run_backfill(plant, store, 42, start, sunday_evening, LogOutput()))
        wed_early = 1_796_162_400_000_000  # 2026-12-02 06:00 Asia/Shanghai, a Wednesday
        figures = asset_oee(store, plant, line, wed_early, sunday_evening, "shift",
                            now=sunday_evening).figures  # fmt: skip
    # Wednesday to Friday, early, late and night: nine shifts, each of them producing.
    labels = figures.periods.label.tolist()
    assert len(labels) == 9, labels
    assert (figures.good > 0).all(), dict(zip(labels, figures.good.tolist(), strict=True))


def test_the_demo_edits_a_copy_of_the_built_in_plant_in_its_data_folder(tmp_path: Path) -> None:
    said: list[str] = []

    class Out:
        def say(self, text: str, *, emphasis: bool = False) -> None:
            said.append(text)

    s = editable_plant(Settings(data_dir=tmp_path / "data"), Out())  # type: ignore[arg-type]
    assert s.plant == tmp_path / "data" / "plant.yaml"
    assert s.plant.read_bytes() == DEMO_PLANT.read_bytes() and len(said) == 1
    s.plant.write_text(s.plant.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    again = editable_plant(Settings(data_dir=tmp_path / "data"), Out())  # type: ignore[arg-type]
    assert again.plant.read_text(encoding="utf-8").endswith("# edited\n")  # kept, not copied anew
    assert len(said) == 1
    own = tmp_path / "mine.yaml"
    assert editable_plant(Settings(plant=own), Out()).plant == own  # type: ignore[arg-type]
