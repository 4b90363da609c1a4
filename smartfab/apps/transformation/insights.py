"""National industry insights from the public data in an ``econ`` folder (World Bank WDI, NBS and
MIIT statements; the path is given, nothing is downloaded): manufactures exports as a share of
merchandise exports for any country, high-technology exports as a share of manufactured exports,
China's GDP and industry value added, and the source article's figures checked against them
(:func:`verify`), each discrepancy with both values and the data's vintage."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from smartfab.apps.transformation.data import TransformationError, load_model
from smartfab.apps.transformation.maturity import Text

MANUFACTURES = "TX.VAL.MANF.ZS.UN"  # manufactures exports, % of merchandise exports
HIGH_TECH = "TX.VAL.TECH.MF.ZS"  # high-technology exports, % of manufactured exports
WDI_ALL = "API_TX.VAL.MANF.ZS.UN_DS2_en_csv_v2_7563.csv"  # every country, 1960-2023
WDI_SUBSET = "wdi_subset.csv"  # tidy rows: both indicators, eight economies
KPI_POINTS = "china_kpi_points.csv"
# The years the source article shows of each series.
YEARS = {MANUFACTURES: (2002, 2023), HIGH_TECH: (2007, 2022)}
# The files as published (../shared/data/README.md): a changed file is reported, not refused.
SHA256 = {
    WDI_ALL: "dc566bfe592a52764fa95032051ee8699468ca534a8fca60a19878cbdc2ff25e",
    KPI_POINTS: "e5dff02944137aaa91dfe7f1609973d5442c1a314068f5f84e713978d1772258",
    WDI_SUBSET: "4fe9b3723e266eace62bdd96825c95fba673d3938868422ca588f36c8fa3a38c",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Where(_Strict):
    wdi: str | None = None
    kpi: str | None = None
    ratio: tuple[str, str] | None = None
    scale: float = 1.0

    @model_validator(mode="after")
    def _one(self) -> Where:
        if sum(x is not None for x in (self.wdi, self.kpi, self.ratio)) != 1:
            raise ValueError("give exactly one of wdi, kpi, ratio")
        return self


class Figure(_Strict):
    what: str
    title: Text  # what, in the web app's languages
    country: str = Field(pattern=r"^[A-Z]{3}$")
    year: int
    value: float
    unit: Text
    data: Where
    tolerance: float = Field(default=0.05, ge=0)


class Article(_Strict):
    figures: list[Figure]


class Group(_Strict):
    name: Text
    countries: list[str]


class Economies(_Strict):
    groups: dict[str, Group]
    # ISO3 -> the region code a browser names in the page's language (ISO 3166 alpha-2)
    regions: dict[str, str] = Field(default_factory=dict)
    names: dict[str, Text] = Field(default_factory=dict)  # what a browser does not name


def _need(data: Path, name: str) -> Path:
    path = data / name
    if not path.is_file():
        raise TransformationError(f"{path}: missing; give the econ folder (../shared/data/econ)")
    return path


def missing_files(data: Path) -> list[str]:
    """The files of an econ folder that are not there."""
    return [name for name in SHA256 if not (data / name).is_file()]


def checksums(data: Path) -> dict[str, bool]:
    """Per data file present, whether it is the published one."""
    return {
        name: hashlib.sha256((data / name).read_bytes()).hexdigest() == digest
        for name, digest in SHA256.items()
        if (data / name).is_file()
    }


class Wdi:
    """The WDI series of an econ folder: values by indicator, country (ISO3) and year, the
    countries' names and each indicator's vintage (the publisher's last update)."""

    def __init__(self, data: Path) -> None:
        self.values: dict[tuple[str, str, int], float] = {}
        self.names: dict[str, str] = {}
        self.vintage: dict[str, str] = {}
        text = _need(data, WDI_ALL).read_text(encoding="utf-8-sig")
        lines = text.splitlines()
        for line in lines[:4]:
            row = next(csv.reader([line]))
            if row and row[0] == "Last Updated Date":
                self.vintage[MANUFACTURES] = row[1]
        start = next(i for i, line in enumerate(lines) if line.startswith('"Country Name"'))
        reader = csv.reader(io.StringIO("\n".join(lines[start:])))
        header = next(reader)
        years = [(k, int(h)) for k, h in enumerate(header) if h.isdigit()]
        for row in reader:
            if len(row) < len(header) or row[3] != MANUFACTURES:
                continue
            self.names[row[1]] = row[0]
            for k, year in years:
                if row[k]:
                    self.values[(MANUFACTURES, row[1], year)] = float(row[k])
        with _need(data, WDI_SUBSET).open(encoding="utf-8") as f:
            for r in csv.DictReader(f):
                if r["indicator"] != HIGH_TECH:
                    continue
                self.values[(HIGH_TECH, r["iso3"], int(r["year"]))] = float(r["value"])
                self.names.setdefault(r["iso3"], r["country"])
                self.vintage[HIGH_TECH] = r["wdi_last_updated"]

    def countries(self, indicator: str) -> list[str]:
        return sorted({c for i, c, _ in self.values if i == indicator})

    def series(
        self, indicator: str, countries: list[str], start: int, end: int
    ) -> dict[str, dict[str, Any]]:
        unknown = [c for c in countries if c not in self.countries(indicator)]
        if unknown:
            raise TransformationError(
                f"{indicator}: no data for {', '.join(unknown)} (ISO 3166 alpha-3 codes; "
                f"{len(self.countries(indicator))} countries have some)"
            )
        return {
            c: {
                "name": self.names.get(c, c),
                "values": {y: self.values.get((indicator, c, y)) for y in range(start, end + 1)},
            }
            for c in countries
        }


def kpi_points(data: Path) -> dict[str, dict[str, str]]:
    with _need(data, KPI_POINTS).open(encoding="utf-8") as f:
        return {r["metric"]: r for r in csv.DictReader(f)}


def economies(folder: Path | None = None) -> Economies:
    return load_model("economies.yaml", Economies, folder)


def article(folder: Path | None = None) -> Article:
    return load_model("article.yaml", Article, folder)


def china_accounts(data: Path) -> dict[str, Any]:
    """China's 2022 GDP and industry value added (trillion yuan) and industry's share of GDP."""
    points = kpi_points(data)
    gdp = float(points["china_gdp_2022_prelim"]["value"]) / 1e4  # 100 million yuan -> trillion
    industry = float(points["china_all_industry_va_2022_prelim"]["value"]) / 1e4
    secondary = float(points["china_secondary_industry_va_2022_prelim"]["value"]) / 1e4
    return {
        "year": 2022,
        "gdp": gdp,
        "industry_value_added": industry,
        "secondary_industry_value_added": secondary,
        "industry_share_of_gdp": 100 * industry / gdp,
        "source": points["china_gdp_2022_prelim"]["note"],
        "urls": sorted({points[k]["source_url"] for k in (
            "china_gdp_2022_prelim", "china_all_industry_va_2022_prelim")}),
    }  # fmt: skip


def verify(data: Path, folder: Path | None = None) -> list[dict[str, Any]]:
    """Each of the article's figures beside the data's, with the difference, whether it is
    within the figure's tolerance, the data's vintage and source."""
    wdi = Wdi(data)
    points = kpi_points(data)
    out = []
    for f in article(folder).figures:
        w = f.data
        if w.wdi is not None:
            found = wdi.values.get((w.wdi, f.country, f.year))
            updated = wdi.vintage.get(w.wdi, "?")
            vintage = f"World Bank WDI {w.wdi}, last updated {updated}"
            wdi_vintage: dict[str, str] | None = {"indicator": w.wdi, "updated": updated}
            source = "World Bank World Development Indicators"
        else:
            names = [w.kpi] if w.kpi is not None else list(w.ratio or ())
            missing = [n for n in names if n not in points]
            if missing:
                raise TransformationError(
                    f"article figure {f.what!r}: no {missing} in {KPI_POINTS}"
                )
            vals = [float(points[n]["value"]) for n in names]
            found = vals[0] if len(vals) == 1 else vals[0] / vals[1]
            rows = [points[n] for n in names]
            vintage = "; ".join(f"{r['note'] or r['metric']} ({r['period']})" for r in rows)
            wdi_vintage = None
            source = " ".join(sorted({r["source_url"] for r in rows}))
        value = None if found is None else round(found * w.scale, 4)
        diff = None if value is None else round(f.value - value, 4)
        out.append({
            "what": f.what, "title": f.title.model_dump(),
            "country": f.country, "year": f.year, "unit": f.unit.model_dump(),
            "article": f.value, "data": value, "difference": diff,
            "agrees": diff is not None and abs(diff) <= f.tolerance,
            "vintage": vintage, "wdi": wdi_vintage, "source": source,
        })  # fmt: skip
    return out


def discrepancies(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("what", "year", "country", "article", "data", "vintage")
    return [{k: r[k] for k in keys} for r in rows if not r["agrees"]]


def countries_of(spec: str, folder: Path | None = None) -> list[str]:
    """ISO3 codes of a group of economies.yaml (``major``, ``sco``) or of a comma-separated
    list."""
    groups = economies(folder).groups
    if spec in groups:
        return list(groups[spec].countries)
    codes = [c.strip().upper() for c in spec.split(",") if c.strip()]
    if not codes:
        raise TransformationError(
            f"countries {spec!r}: give ISO 3166 alpha-3 codes, comma-separated, or a group "
            f"({', '.join(groups)})"
        )
    return codes


def sheets(wdi: Wdi, codes: list[str], start: int, end: int) -> dict[str, list[list[Any]]]:
    """The countries' manufactures series and, for those the data have it, high technology,
    as tables (see :func:`series_rows`)."""
    out = {"manufactures": series_rows(wdi.series(MANUFACTURES, codes, start, end), MANUFACTURES)}
    have = set(wdi.countries(HIGH_TECH))
    tech = [c for c in codes if c in have]
    if tech:
        out["high-tech"] = series_rows(wdi.series(HIGH_TECH, tech, start, end), HIGH_TECH)
    return out


def overview(data: Path, codes: list[str], folder: Path | None = None) -> dict[str, Any]:
    """What the insights page shows: both series of the countries over the article's years (a
    country without high-technology data is left out of that one), the countries and groups to
    choose from, China's accounts, the article's figures checked, and whether the files are
    the published ones."""
    wdi = Wdi(data)
    have = set(wdi.countries(HIGH_TECH))

    def chart(indicator: str, countries: list[str]) -> dict[str, Any]:
        start, end = YEARS[indicator]
        found = wdi.series(indicator, countries, start, end)
        return {
            "indicator": indicator,
            "vintage": wdi.vintage.get(indicator, ""),
            "years": list(range(start, end + 1)),
            "series": [{"code": c, "name": s["name"], "values": list(s["values"].values())}
                       for c, s in found.items()],
        }  # fmt: skip

    countries = [
        {"code": c, "name": wdi.names.get(c, c), "high_tech": c in have}
        for c in wdi.countries(MANUFACTURES)
    ]
    known = economies(folder)
    return {
        "countries": countries,
        "groups": {k: g.model_dump() for k, g in known.groups.items()},
        "regions": known.regions,
        "names": {k: v.model_dump() for k, v in known.names.items()},
        "manufactures": chart(MANUFACTURES, codes),
        "high_tech": chart(HIGH_TECH, [c for c in codes if c in have]),
        "china": china_accounts(data),
        "figures": verify(data, folder),
        "published": checksums(data),
    }


def series_rows(series: dict[str, dict[str, Any]], indicator: str) -> list[list[Any]]:
    """A series as a table: indicator, country, name, year, value (blank where unknown)."""
    rows: list[list[Any]] = [["indicator", "country", "name", "year", "value"]]
    for code, s in series.items():
        for year, v in s["values"].items():
            rows.append([indicator, code, s["name"], year, "" if v is None else v])
    return rows


def joined(tables: dict[str, list[list[Any]]]) -> list[list[Any]]:
    """Tables of one header as one table (a CSV file holds one)."""
    return [r for k, rows in enumerate(tables.values()) for r in rows[k > 0 :]]


def write_csv(rows: list[list[Any]], path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def write_xlsx(sheets: dict[str, list[list[Any]]], path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    for k, (name, rows) in enumerate(sheets.items()):
        ws = wb.active if k == 0 else wb.create_sheet()
        assert ws is not None
        ws.title = name[:31]
        for row in rows:
            ws.append([None if v == "" else v for v in row])
    wb.save(path)
    return path
