"""Measured gains on a machine whose history is written by hand, so that every figure is worked
out here from first principles: ten hours before a change and ten hours after, the machine makes a
part every 10 s (its ideal cycle) while it runs.

before  runs 9 h, down 1 h:    3240 parts, 324 scrap (10 %), 0.5 kWh per good part
after   runs 9.5 h, down 0.5 h: 3420 parts, 171 scrap (5 %), 0.4 kWh per good part

A year is 876 such ten-hour periods (8760 h, no shifts: all time is planned). Then a project's
benefit rests on a measured gain: prefilled, overridden only with a reason, the result kept while
the reference is unchanged, and the appraisal's figures at the measured gains beside the
manager's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from smartfab.apps.transformation.data import TransformationError
from smartfab.apps.transformation.finance import Project, appraise, resolve
from smartfab.apps.transformation.gains import GainRef, Period, default_periods, measure
from smartfab.apps.transformation.subsidies import programmes
from smartfab.model.plant import Plant
from smartfab.platform.points import EventBatch, EventKind, PointBatch
from smartfab.platform.store.base import SignalInfo
from smartfab.platform.store.duckdb import DuckDBStore

T0 = 1_794_895_200_000_000  # 2026-11-17 06:00 UTC
H = 3_600_000_000
S = 1_000_000
M = "s/a/l/c/m"
PERIODS = 8760 / 10  # ten-hour periods in a year

PLANT: dict[str, Any] = yaml.safe_load("""
site:
  name: s
  areas:
  - name: a
    lines:
    - name: l
      cells:
      - name: c
        equipment:
        - name: m
          ideal_cycle_s: 10
          signals:
          - {name: energy, unit: kWh, role: energy, source: {virtual: true}}
          - {name: good, unit: "1", role: good_count, source: {virtual: true}}
energy:
  tariff:
    currency: CNY
    unit: CNY/kWh
    periods: [{name: flat, start: '00:00', end: '00:00', price: 0.8}]
economics: {currency: CNY, good_part_margin: 38, scrap_cost: 55, downtime_cost_per_hour: 900}
""")


@pytest.fixture(scope="module")
def plant() -> Plant:
    return Plant.model_validate(PLANT)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path_factory.mktemp("gains") / "s.duckdb")
    ids = s.register_signals([
        SignalInfo(f"{M}/energy", M, "energy", "kWh", "float"),
        SignalInfo(f"{M}/good", M, "good", "1", "float"),
    ])  # fmt: skip
    s.append_events(EventBatch.concat([
        EventBatch.of([T0, T0 + 9 * H, T0 + 10 * H, T0 + 19 * H + H // 2], M, EventKind.STATE,
                      ["running", "unplanned_down", "running", "unplanned_down"]),
        EventBatch.of([T0 + 8 * H] * 2, M, EventKind.COUNT, ["good", "scrap"], [2916, 324]),
        EventBatch.of([T0 + 18 * H] * 2, M, EventKind.COUNT, ["good", "scrap"], [3249, 171]),
    ]))  # fmt: skip
    # Cumulative meters read every minute, and once after the after period (the newest data:
    # that period is known to its end).
    minute = np.arange(1201)
    good = np.where(minute <= 600, minute * 2916 / 600, 2916 + (minute - 600) * 3249 / 600)
    kwh = np.where(minute <= 600, minute * 2916 * 0.5 / 600,
                   2916 * 0.5 + (minute - 600) * 3249 * 0.4 / 600)  # fmt: skip
    at = np.append(T0 + minute * 60 * S, T0 + 21 * H)
    for name, values in (("energy", kwh), ("good", good)):
        s.append_points(PointBatch.of(at, ids[f"{M}/{name}"], np.append(values, values[-1])))
    yield s
    s.close()


BEFORE = ("2026-11-17T06:00:00Z", "2026-11-17T16:00:00Z")
AFTER = ("2026-11-17T16:00:00Z", "2026-11-18T02:00:00Z")


def ref(
    gain: str, path: str = M, before: tuple[str, str] = BEFORE, after: tuple[str, str] = AFTER
) -> GainRef:
    return GainRef.model_validate({
        "gain": gain, "path": path,
        "before": dict(zip(("start", "end"), before, strict=True)),
        "after": dict(zip(("start", "end"), after, strict=True)),
    })  # fmt: skip


@pytest.mark.parametrize(
    ("gain", "before", "after", "quantity", "unit", "price"),
    [
        # 2916 good x 10 s in 10 h, 3249 good x 10 s; 333 more good parts per ten hours.
        ("oee", 0.81, 0.9025, 333 * PERIODS, "parts", 38),
        # 342 scrap at the after period's 3420 parts with the before rate, 171 without.
        ("scrap", 0.10, 0.05, 171 * PERIODS, "parts", 55),
        # half an hour less down time per ten hours.
        ("downtime", 0.10, 0.05, 0.5 * PERIODS, "h", 900),
        # 0.1 kWh less for each of the after period's 3249 good parts, at the one price (of
        # which the meters' first minute in the period falls before its first reading).
        ("energy", 0.5, 0.4, 0.1 * 3249 * 599 / 600 * PERIODS, "kWh", 0.8),
    ],
)
def test_each_gain_worked_by_hand(
    plant: Plant, store: DuckDBStore, gain: str, before: float, after: float, quantity: float,
    unit: str, price: float,
) -> None:  # fmt: skip
    r = measure(plant, store, ref(gain), now=T0 + 30 * H)
    assert (r.before, r.after) == (pytest.approx(before), pytest.approx(after))
    assert r.quantity == pytest.approx(quantity, rel=1e-6)
    assert (r.unit, r.price, r.currency) == (unit, pytest.approx(price), "CNY")
    assert r.annual == pytest.approx(quantity * price, rel=1e-6)
    assert r.known_days == pytest.approx(10 / 24)
    assert M in r.source


def test_without_a_price_the_gain_stays_in_parts(plant: Plant, store: DuckDBStore) -> None:
    bare = plant.model_copy(update={"economics": None})
    r = measure(bare, store, ref("oee"), now=T0 + 30 * H)
    assert r.quantity == pytest.approx(333 * PERIODS)
    assert (r.price, r.annual, r.price_from) == (None, None, "economics.good_part_margin")
    p = project(benefits=[{"name": "OEE", "kind": "oee", "measured": ref("oee").model_dump()}])
    with pytest.raises(TransformationError, match=r"no economics\.good_part_margin to price"):
        resolve(p, bare, store)
    p = project(benefits=[{"name": "OEE", "kind": "oee", "annual": 100_000,
                           "measured": ref("oee").model_dump()}])  # fmt: skip
    assert resolve(p, bare, store).benefits[0].annual == 100_000  # no price: no override


def test_periods_and_assets_are_refused_with_the_reason(plant: Plant, store: DuckDBStore) -> None:
    with pytest.raises(ValueError, match="must end by the start of the after period"):
        ref("oee", before=AFTER, after=BEFORE)
    with pytest.raises(ValueError, match="spans at most 400 days"):
        Period.model_validate({"start": "2020-01-01", "end": "2022-01-01"})
    with pytest.raises(ValueError, match="a time from 1970 to 2200"):
        Period.model_validate({"start": "1960-01-01", "end": "1960-01-02"})
    with pytest.raises(TransformationError, match="no equipment at or below 's/x'"):
        measure(plant, store, ref("oee", "s/x"))
    late = ref("scrap", before=("2027-01-01", "2027-01-02"), after=("2027-01-02", "2027-01-03"))
    with pytest.raises(TransformationError, match="lies entirely in the future"):
        measure(plant, store, late, now=T0 + 30 * H)
    empty = ref("scrap", before=("2026-11-01", "2026-11-02"))
    with pytest.raises(TransformationError, match="no part in the before period"):
        measure(plant, store, empty, now=T0 + 30 * H)


def test_the_default_periods_split_the_newest_data(plant: Plant, store: DuckDBStore) -> None:
    before, after = default_periods(plant, store, "s/a/l")
    assert (before.us[0], after.us[1]) == (T0, T0 + 21 * H)  # the data's span, halved
    assert before.us[1] == after.us[0] == T0 + 21 * H // 2
    with pytest.raises(TransformationError, match="no signal of 's/x' is in the store"):
        default_periods(plant, store, "s/x")


# --- a project's benefit on a measured gain ----------------------------------------------------


def project(**kw: Any) -> Project:
    base: dict[str, Any] = {"id": "p", "name": "P", "programme": "suzhou", "items": [
        {"name": "machine", "kind": "hardware", "amount": 1_000_000}]}  # fmt: skip
    return Project.model_validate({**base, **kw})


def test_a_measured_benefit_is_prefilled_and_overridden_only_with_a_reason(
    plant: Plant, store: DuckDBStore
) -> None:
    measured = {"name": "Less downtime", "kind": "downtime",
                "measured": ref("downtime").model_dump(mode="json")}  # fmt: skip
    p = resolve(project(benefits=[measured]), plant, store)
    (b,) = p.benefits
    assert b.annual == pytest.approx(0.5 * PERIODS * 900) and not b.overridden
    assert b.measured is not None and b.measured.result is not None
    a = appraise(p, programmes())
    assert a["annual_benefit"] == b.annual and a["benefits"][0]["measured"] == b.annual
    assert "at_measured" not in a
    # The figures use it: a year's cash flow is the measured benefit.
    assert a["without"]["flows"][1] == pytest.approx(b.annual, abs=0.01)

    more = {**measured, "annual": 600_000}
    with pytest.raises(TransformationError, match="overrides the measured 394,200: say why"):
        resolve(project(benefits=[more]), plant, store)
    p2 = resolve(project(benefits=[{**more, "basis": "two lines, not one"}]), plant, store, p)
    a2 = appraise(p2, programmes())
    assert a2["benefits"][0] | {"measured": round(a2["benefits"][0]["measured"])} == {
        "name": "Less downtime", "kind": "downtime", "annual": 600_000, "measured": 394_200,
        "overridden": True}  # fmt: skip
    assert a2["at_measured"]["annual_benefit"] == pytest.approx(394_200)
    assert a2["at_measured"]["without"]["npv"] == a["without"]["npv"]
    assert a2["without"]["npv"] > a["without"]["npv"]


def test_the_stored_result_stands_while_the_reference_is_unchanged(
    plant: Plant, store: DuckDBStore
) -> None:
    benefit = {"name": "OEE", "kind": "oee", "measured": ref("oee").model_dump(mode="json")}
    first = resolve(project(benefits=[benefit]), plant, store)
    # Sent back as the page got it, with a result of its own: the stored one stands.
    sent = first.model_dump(mode="json")
    sent["benefits"][0]["measured"]["result"]["annual"] = 1.0
    again = resolve(Project.model_validate(sent), plant, store, first)
    assert again.benefits[0].measured == first.benefits[0].measured
    # Another period is measured anew.
    other = ref("oee", before=("2026-11-17T07:00:00Z", BEFORE[1])).model_dump(mode="json")
    moved = resolve(project(benefits=[{**benefit, "measured": other}]), plant, store, first)
    assert moved.benefits[0].measured != first.benefits[0].measured


def test_a_gain_in_another_currency_and_gains_counted_twice(
    plant: Plant, store: DuckDBStore
) -> None:
    oee = {"name": "OEE", "kind": "oee", "measured": ref("oee").model_dump(mode="json")}
    down = {"name": "Down", "kind": "downtime",
            "measured": ref("downtime", "s/a/l").model_dump(mode="json")}  # fmt: skip
    p = resolve(project(benefits=[oee, down]), plant, store)
    a = appraise(p, programmes())
    assert a["warnings"] == [{"code": "oee_counts_downtime", "benefits": ["OEE", "Down"],
                              "path": "s/a/l"}]  # fmt: skip
    euro = Plant.model_validate(
        {**PLANT, "energy": None, "economics": {**PLANT["economics"], "currency": "EUR"}}
    )
    p = resolve(project(benefits=[oee]), euro, store)
    with pytest.raises(TransformationError, match="measured in EUR, the programme suzhou pays in"):
        appraise(p, programmes())
    with pytest.raises(ValueError, match="kind scrap, but its measured gain is oee"):
        project(benefits=[{**oee, "kind": "scrap"}])
    with pytest.raises(ValueError, match="give its annual figure, or measure it"):
        project(benefits=[{"name": "x", "kind": "other"}])


def test_the_plant_file_states_every_price_in_one_currency(tmp_path: Path) -> None:
    from smartfab.model.loader import check_plant

    bad = {**PLANT, "economics": {**PLANT["economics"], "currency": "EUR"}}
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    (issue,) = check_plant(path)
    assert "economics.currency EUR differs from energy.tariff.currency CNY" in str(issue)
