"""An OPC UA server on another stack (o6, the open62541 C SDK's Python binding, from PyPI) for the
interoperability tests, run as a child process: ``python o6_peer.py PORT``.

It serves, under the Objects folder, ns=1;s=peer.<name>: temp (Double), count (Int64), state
(Int32 of the standard ServerState enumeration, whose EnumStrings name its codes), product
(String), operator (LocalizedText), spectrum (Double[4], ArrayDimensions [4]) and profile (Int32
array of any length). It prints "ready" once listening; then each line of its input,
``NAME JSON``, writes a value (a list: an array of the variable's type) with the current source
time and prints the write's status.

o6 without a licence runs at most ten minutes per process: which is why it runs here, in its own
process, and never in the test runner's.
"""

from __future__ import annotations

import datetime
import json
import sys

import numpy as np
import o6  # type: ignore[import-untyped]

ELEMENT = {"temp": o6.Double, "count": o6.Int64, "state": o6.Int32, "profile": o6.Int32}


def node(name: str) -> o6.NodeId:
    return o6.NodeId(f"ns=1;s=peer.{name}")


def main(port: int) -> None:
    server = o6.Server(port=port)
    server.start()
    objects = server.objectsNode
    server.addVariable("temp", objects, o6.Double(21.5), nodeId=node("temp"))
    server.addVariable("count", objects, o6.Int64(7), nodeId=node("count"))
    server_state = o6.NodeId("i=852")  # ServerState: 0 Running, 1 Failed, 2 NoConfiguration ...
    server.addVariable("state", objects, o6.Int32(0), nodeId=node("state"), dataType=server_state)
    server.addVariable("product", objects, "HSG-4410", nodeId=node("product"))
    server.addVariable("operator", objects, o6.LocalizedText("Li Wei"), nodeId=node("operator"))
    server.addVariable("spectrum", objects, np.array([0.5, 1.5, 2.5, 3.5]), nodeId=node("spectrum"))
    server.write(node("spectrum"), [o6.UInt32(4)], attr="ArrayDimensions").check()
    server.addVariable(
        "profile", objects, np.array([1, 2, 3], dtype=np.int32), nodeId=node("profile")
    )
    print("ready", flush=True)
    for line in sys.stdin:
        name, text = line.strip().split(" ", 1)
        now = o6.DateTime(datetime.datetime.now(datetime.UTC))
        value = json.loads(text)
        if name in ELEMENT:
            kind = ELEMENT[name]
            value = [kind(v) for v in value] if isinstance(value, list) else kind(value)
        elif isinstance(value, list):
            value = np.array(value, dtype=np.float64)
        print(server.write(node(name), o6.DataValue(value=value, sourceTimestamp=now)), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
