from __future__ import annotations

from smartfab.bench.opcua import bench_opcua_live, synthetic_plant
from smartfab.model.plant import Plant


def test_synthetic_plant_is_a_valid_plant_of_the_asked_size() -> None:
    plant = Plant.model_validate(synthetic_plant(nodes=250, rate_hz=20, publishing_interval_ms=100))
    signals = list(plant.iter_signals())
    assert len(signals) == 250
    assert {s.signal.sample_s for s in signals} == {0.05}
    assert len({s.signal.source.opcua.node for s in signals if s.signal.source.opcua}) == 250
    assert max(len(e.equipment.signals) for e in plant.iter_equipment()) == 10


def test_live_bench_on_a_tiny_setup_reports_its_keys() -> None:
    result = bench_opcua_live(seconds=1.0, nodes=20, rate_hz=5, warmup_s=1.0)
    assert {
        "points_per_s", "offered_per_s", "nodes", "rate_hz", "seconds", "publishing_interval_ms",
        "server_start_s", "latency_ms_p50", "server_cpu_percent", "client_cpu_percent",
        "connector_errors", "gaps", "points",
    } <= set(result)  # fmt: skip
    assert (result["nodes"], result["rate_hz"], result["offered_per_s"]) == (20, 5, 100)
    assert result["points"] > 0 and result["connector_errors"] == 0
