"""A Sparkplug B edge node made with pysparkplug, a third-party implementation, to test smartfab's
host against. It runs in a process of its own, on pysparkplug's own paho-mqtt 1.x (see
``tests/devices/mqtt/test_sparkplug_peer.py``), never importing smartfab.

``python pysparkplug_edge.py PORT GROUP EDGE``: connects to the broker at 127.0.0.1:PORT, which
publishes NBIRTH (metric ``temp``) and DBIRTH of device ``ram`` (``force``, ``strokes``), then a
DDATA per line of standard input ("FORCE STROKES"), printing "sent" after each. At the end of its
input it exits without disconnecting, as a crashing node does: the broker then publishes its will,
the NDEATH.
"""

from __future__ import annotations

import os
import sys
import time

import pysparkplug as psp


def metric(name: str, datatype: psp.DataType, value: float) -> psp.Metric:
    return psp.Metric(
        timestamp=psp.get_current_timestamp(), name=name, datatype=datatype, value=value
    )


def main() -> None:
    port, group, edge = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    node = psp.EdgeNode(group, edge, [metric("temp", psp.DataType.DOUBLE, 20.5)])
    ram = [metric("force", psp.DataType.DOUBLE, 0.0), metric("strokes", psp.DataType.UINT64, 0)]
    node.register(psp.Device("ram", ram))
    node.connect("127.0.0.1", port=port, keepalive=2, blocking=False)
    time.sleep(0.5)  # the births go out from the client's thread once connected
    print("born", flush=True)
    for line in sys.stdin:
        force, strokes = line.split()
        node.update_device("ram", [
            metric("force", psp.DataType.DOUBLE, float(force)),
            metric("strokes", psp.DataType.UINT64, int(strokes)),
        ])  # fmt: skip
        print("sent", flush=True)
    time.sleep(0.2)  # let the last DDATA leave
    os._exit(0)  # no DISCONNECT: the broker publishes the will


if __name__ == "__main__":
    main()
