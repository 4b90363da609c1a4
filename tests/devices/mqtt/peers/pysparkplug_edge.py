"""A Sparkplug B edge node made with pysparkplug, a third-party implementation, to test smartfab's
host against. It runs in a process of its own, on pysparkplug's own paho-mqtt 1.x (see
``tests/devices/mqtt/test_sparkplug_peer.py``), never importing smartfab.

``python pysparkplug_edge.py PORT GROUP EDGE``: connects to the broker at 127.0.0.1:PORT, which
publishes NBIRTH (metric ``temp``) and DBIRTH of device ``ram`` (the metrics of ``RAM``, each of
its type), then a DDATA per line of standard input, a JSON object of metric values (lists for the
arrays), printing "sent" after each. At the end of its input it exits without disconnecting, as a
crashing node does: the broker then publishes its will, the NDEATH.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pysparkplug as psp

D = psp.DataType
# The device's metrics: their types and their values in the birth.
RAM = {
    "force": (D.DOUBLE, 0.0),
    "strokes": (D.UINT64, 0),
    "recipe": (D.STRING, "none"),
    "mode": (D.UINT8, 0),
    "profile": (D.DOUBLE_ARRAY, (0.0, 0.0, 0.0)),
    "bits": (D.BOOLEAN_ARRAY, (False,) * 10),
    "counts": (D.INT16_ARRAY, (0, 0)),
}


def metric(name: str, datatype: psp.DataType, value: object) -> psp.Metric:
    value = tuple(value) if isinstance(value, list) else value
    return psp.Metric(
        timestamp=psp.get_current_timestamp(), name=name, datatype=datatype, value=value
    )


def main() -> None:
    port, group, edge = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    node = psp.EdgeNode(group, edge, [metric("temp", D.DOUBLE, 20.5)])
    node.register(psp.Device("ram", [metric(n, t, v) for n, (t, v) in RAM.items()]))
    node.connect("127.0.0.1", port=port, keepalive=2, blocking=False)
    time.sleep(0.5)  # the births go out from the client's thread once connected
    print("born", flush=True)
    for line in sys.stdin:
        values = json.loads(line)
        node.update_device("ram", [metric(n, RAM[n][0], v) for n, v in values.items()])
        print("sent", flush=True)
    time.sleep(0.2)  # let the last DDATA leave
    os._exit(0)  # no DISCONNECT: the broker publishes the will


if __name__ == "__main__":
    main()
