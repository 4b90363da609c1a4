"""The virtual warehouse: a storage zone of the plant simulated with its ground truth (``sim``),
its stacker cranes' kinematics (``kinematics``); ``run_virtual_warehouse`` gives the metrics of a
simulated period, optimised or baseline."""

from smartfab.virtual.warehouse.sim import VirtualWarehouse, run_virtual_warehouse

__all__ = ["VirtualWarehouse", "run_virtual_warehouse"]
