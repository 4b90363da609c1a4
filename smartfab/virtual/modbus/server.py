"""A virtual Modbus TCP device: a real pymodbus server on a socket, serving the registers of the
plant's Modbus-bound signals.

One server stands for one host:port; every unit id of the connections given gets its own holding
and input register tables (two connections to the same unit share them). Values are set as
engineering values and encoded through ``smartfab.devices.modbus.registers``, the same code the
connector decodes with.

Clients may write the holding registers of writable signals (setpoints), and only those: a write
touching any other register is refused with "illegal address", as a PLC refuses writes to its
read-only data. The simulation sets a setpoint until a client first writes it; from then on the
registers hold what the client wrote.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

import numpy as np
import numpy.typing as npt
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from smartfab.devices.modbus.registers import Float64Array, RegisterMap, Table, Words, decode
from smartfab.errors import SmartfabError
from smartfab.model.plant import REGISTER_WORDS, ModbusBinding, ModbusConnection, Plant

_READ_TABLE: dict[int, Table] = {3: "holding", 4: "input"}  # function code -> table
_WRITE_HOLDING = {6, 16}  # write single register, write multiple registers


class VirtualModbusServer:
    """Serves ``connections`` (names of Modbus connections of ``plant``; all of them by default) on
    ``host:port``. Port 0 picks a free port on the first start and keeps it for restarts."""

    def __init__(
        self,
        plant: Plant,
        connections: Sequence[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        names = (
            [c.name for c in plant.connections if isinstance(c, ModbusConnection)]
            if connections is None
            else list(connections)
        )
        self.host = host
        self.port = port
        self.maps = tuple(RegisterMap.for_connection(plant, n) for n in names)
        self.paths: tuple[str, ...] = tuple(p for m in self.maps for p in m.paths)
        self._bounds = np.cumsum([0, *(len(m.paths) for m in self.maps)])
        self._values = np.zeros(len(self.paths), np.float64)
        sizes: dict[int, dict[Table, int]] = {}
        for m in self.maps:
            size = sizes.setdefault(m.connection.unit, {"holding": 0, "input": 0})
            size["holding"] = max(size["holding"], m.connection.holding_registers)
            size["input"] = max(size["input"], m.connection.input_registers)
        self._sizes = sizes
        # Setpoints: unit -> holding register -> (slot, binding) for every register they span.
        self._writable: dict[int, dict[int, tuple[int, ModbusBinding]]] = {}
        slots = {path: i for i, path in enumerate(self.paths)}
        for ref in plant.iter_signals():
            b = ref.signal.source.modbus
            if ref.signal.writable and b is not None and ref.path in slots:
                unit = plant.connection(b.connection)
                assert isinstance(unit, ModbusConnection)
                registers = self._writable.setdefault(unit.unit, {})
                for r in range(b.register, b.register + REGISTER_WORDS[b.type]):
                    registers[r] = (slots[ref.path], b)
        self.held = np.zeros(len(self.paths), np.bool_)  # setpoints a client wrote
        self.images: dict[int, dict[Table, Words]] = {
            unit: {t: np.zeros(n, np.uint16) for t, n in s.items()} for unit, s in sizes.items()
        }
        self._server: ModbusTcpServer | None = None

    @property
    def units(self) -> list[int]:
        return sorted(self.images)

    def set_values(self, slots: npt.ArrayLike, values: npt.ArrayLike) -> None:
        """Set the engineering values of the signals at ``slots`` (positions in ``paths``);
        setpoints a client wrote keep the client's value."""
        index = np.asarray(slots, dtype=np.intp)
        vals = np.broadcast_to(np.asarray(values, dtype=np.float64), index.shape)
        free = ~self.held[index]
        self._values[index[free]] = vals[free]
        self._encode()

    def _encode(self) -> None:
        for i, m in enumerate(self.maps):
            lo, hi = self._bounds[i], self._bounds[i + 1]
            m.encode_into(self.images[m.connection.unit], self._values[lo:hi])

    def _client_write(self, unit: int, address: int, words: list[int]) -> ExcCodes | None:
        """Take a client's write of ``words`` from holding register ``address``: only setpoint
        registers may be written."""
        writable = self._writable.get(unit, {})
        targets = [writable.get(r) for r in range(address, address + len(words))]
        if not words or any(t is None for t in targets):
            return ExcCodes.ILLEGAL_ADDRESS
        image = self.images[unit]["holding"]
        image[address : address + len(words)] = words
        for slot, b in {t[0]: t[1] for t in targets if t is not None}.items():
            registers = image[b.register : b.register + REGISTER_WORDS[b.type]]
            self._values[slot] = decode(registers, b.type, b.word_order, b.scale, b.offset)[0]
            self.held[slot] = True
        self._encode()
        return None

    def values(self) -> Float64Array:
        """The engineering values last set, one per path."""
        return self._values.copy()

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is not None:
            return
        server = ModbusTcpServer(
            [self._device(u) for u in self.units], address=(self.host, self.port)
        )
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:  # pymodbus reports a failed bind only as "could not listen"
            raise SmartfabError(
                f"virtual Modbus device cannot listen on {self.host}:{self.port} (port in use?)"
            ) from exc
        self.port = _listener(server).sockets[0].getsockname()[1]
        self._server = server

    async def stop(self) -> None:
        """Close the listener and every client connection, like a device that goes away."""
        server, self._server = self._server, None
        if server is not None:
            listener = _listener(server)
            server.close()  # what shutdown() does for a server serving in the background
            await listener.wait_closed()

    def _device(self, unit: int) -> SimDevice:
        # Writes reach on_access only where pymodbus' store is writable; it refuses the others.
        readonly = not self._writable.get(unit)

        def table(n: int) -> list[SimData]:
            if n == 0:  # a device without this table answers "illegal address"
                return [SimData(0, datatype=DataType.INVALID)]
            return [SimData(0, count=n, datatype=DataType.REGISTERS, readonly=readonly)]

        # pymodbus needs coils and discrete inputs too; the plant model has none, so one of each.
        bits = [SimData(0, values=[False] * 16, datatype=DataType.BITS, readonly=True)]
        image = self.images[unit]

        async def on_access(
            function_code: int,
            start_address: int,
            address: int,
            count: int,
            registers: list[int],
            _set_values: list[int] | list[bool] | None,
        ) -> ExcCodes | None:
            if _set_values is not None:
                if function_code not in _WRITE_HOLDING:
                    return ExcCodes.ILLEGAL_FUNCTION
                return self._client_write(unit, address, [int(v) for v in _set_values])
            # The images are the truth; copy just the requested range into pymodbus' store.
            table_name = _READ_TABLE.get(function_code)
            if table_name is not None:
                lo = address - start_address
                registers[lo : lo + count] = image[table_name][address : address + count].tolist()
            return None

        return SimDevice(
            unit,
            simdata=(
                bits,
                list(bits),
                table(self._sizes[unit]["holding"]),
                table(self._sizes[unit]["input"]),
            ),
            action=on_access,
        )


def _listener(server: ModbusTcpServer) -> asyncio.Server:
    # pymodbus types the transport of every protocol object as BaseTransport; a listening TCP
    # server's is the asyncio.Server made by loop.create_server.
    return cast(asyncio.Server, server.transport)
