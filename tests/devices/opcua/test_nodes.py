"""Which of a plant's signals the OPC UA connector reads: a plain function of the plant file, so
no server and no event loop (the connector's module runs every test on one)."""

from __future__ import annotations

from smartfab.config import DEMO_PLANT
from smartfab.devices.opcua.connector import OpcUaConnector
from smartfab.model.loader import load_plant


def test_the_process_block_s_per_part_signals_are_reported_every_sample() -> None:
    demo = load_plant(DEMO_PLANT)
    ids = {ref.path: i for i, ref in enumerate(demo.iter_signals())}
    connector = OpcUaConnector.from_plant(demo, "opcua-factory", ids)
    every = {n.path.rsplit("/", 2)[1] + "/" + n.path.rsplit("/", 1)[1]
             for n in connector.nodes if n.every_sample}  # fmt: skip
    assert every == {
        f"cnc-0{i}/{s}"
        for i in (1, 2, 4)
        for s in ("inspection", "roughness_ra", "tool_count", "hall_temp", "material_lot")
    }
