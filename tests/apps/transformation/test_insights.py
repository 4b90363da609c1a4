"""The article's figures against the real data (World Bank WDI, NBS): the discrepancies the
data's README names are found, with both values and the vintage; series for any country."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from smartfab.apps.transformation.data import TransformationError
from smartfab.apps.transformation.insights import (
    HIGH_TECH,
    MANUFACTURES,
    Wdi,
    checksums,
    china_accounts,
    discrepancies,
    economies,
    series_rows,
    verify,
    write_csv,
    write_xlsx,
)
from tests.apps.transformation.econ import econ_dir


@pytest.fixture(scope="module")
def wdi() -> Wdi:
    return Wdi(econ_dir())


def test_the_files_are_the_published_ones() -> None:
    assert checksums(econ_dir()) == dict.fromkeys(checksums(econ_dir()), True)
    assert len(checksums(econ_dir())) == 3


def test_the_article_is_checked_against_the_data() -> None:
    rows = {r["what"]: r for r in verify(econ_dir())}
    tech = rows["high-technology exports, % of manufactured exports"]
    assert (tech["article"], tech["data"]) == (23.12, 27.7651)
    assert not tech["agrees"] and tech["vintage"].endswith("last updated 2026-04-08")
    va = rows["industry value added"]
    assert (va["article"], va["data"], va["agrees"]) == (39.91, 40.1644, False)
    share = rows["industry value added, % of GDP"]
    assert share["data"] == pytest.approx(33.19, abs=0.005) and not share["agrees"]
    cnc = rows["key-process CNC rate target"]
    assert (cnc["article"], cnc["data"], cnc["agrees"]) == (70, 75, False)
    assert rows["digital R&D and design tool penetration target"]["agrees"]
    found = discrepancies(list(rows.values()))
    assert len(found) == 4
    assert set(found[0]) == {"what", "year", "country", "article", "data", "vintage"}


def test_series_for_any_country_including_the_sco_members(wdi: Wdi) -> None:
    sco = economies().groups["sco"].countries
    s = wdi.series(MANUFACTURES, sco, 2002, 2023)
    assert set(s) == set(sco) and s["CHN"]["values"][2002] == pytest.approx(89.8596, abs=1e-4)
    assert s["RUS"]["name"] == "Russian Federation"
    assert len(wdi.countries(MANUFACTURES)) > 200
    tech = wdi.series(HIGH_TECH, economies().groups["major"].countries, 2007, 2022)
    assert tech["CHN"]["values"][2022] == pytest.approx(27.765, abs=1e-3)
    with pytest.raises(TransformationError, match="no data for XXX"):
        wdi.series(MANUFACTURES, ["XXX"], 2002, 2023)


def test_china_accounts() -> None:
    acc = china_accounts(econ_dir())
    assert acc["industry_value_added"] == pytest.approx(40.1644)
    assert acc["gdp"] == pytest.approx(121.0207)
    assert acc["industry_share_of_gdp"] == pytest.approx(33.19, abs=0.005)


def test_export_as_csv_and_xlsx(wdi: Wdi, tmp_path: Path) -> None:
    rows = series_rows(wdi.series(MANUFACTURES, ["CHN", "DEU"], 2002, 2023), MANUFACTURES)
    assert len(rows) == 1 + 2 * 22
    with write_csv(rows, tmp_path / "m.csv").open(encoding="utf-8") as f:
        back = list(csv.reader(f))
    assert back[1][:4] == [MANUFACTURES, "CHN", "China", "2002"]
    wb = load_workbook(write_xlsx({"manufactures": rows}, tmp_path / "m.xlsx"))
    assert wb["manufactures"]["E2"].value == pytest.approx(89.8596, abs=1e-4)


def test_a_missing_folder_says_which_file() -> None:
    with pytest.raises(TransformationError, match=r"/nonexistent/API_TX\.VAL.*: missing"):
        Wdi(Path("/nonexistent"))
