"""A virtual Modbus TCP device: a real pymodbus server on a socket, serving the registers of the
plant's Modbus-bound signals.

One server stands for one host:port; every unit id of the connections given gets its own four
tables (coils, discrete inputs, holding and input registers; two connections to the same unit
share them). Values are set as engineering values (``set_values``), texts (``set_texts``) and
arrays (``set_arrays``) and encoded through ``smartfab.devices.modbus.registers``, the same code
the connector decodes with.

Clients may write the coils and holding registers of writable signals (setpoints), and only those:
a write touching any other address is refused with "illegal address", as a PLC refuses writes to
its read-only data. The simulation sets a setpoint until a client first writes it; from then on the
device holds what the client wrote.
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

from smartfab.devices.modbus.registers import (
    TABLES,
    Float64Array,
    RegisterMap,
    Table,
    Words,
    decode,
)
from smartfab.errors import SmartfabError
from smartfab.model.plant import BIT_TABLES, ModbusBinding, ModbusConnection, Plant

# function code -> the table it reads
_READ_TABLE: dict[int, Table] = {1: "coil", 2: "discrete_input", 3: "holding", 4: "input"}
# function code -> the table it writes: single and multiple coils, single and multiple registers
_WRITE_TABLE: dict[int, Table] = {5: "coil", 15: "coil", 6: "holding", 16: "holding"}


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
        # Strings and arrays, one per path (those of other signals unused): empty, zeros at first.
        self._texts = np.full(len(self.paths), "", object)
        self._arrays = np.empty(len(self.paths), object)
        length = {ref.path: ref.signal.length or 0 for ref in plant.iter_signals()}
        self._arrays[:] = [np.zeros(length[path]) for path in self.paths]
        # unit -> table -> addresses (registers, or bits of a bit table), the largest any
        # connection to the unit declares
        sizes: dict[int, dict[Table, int]] = {}
        for m in self.maps:
            for unit in m.units:
                size = sizes.setdefault(unit, dict.fromkeys(TABLES, 0))
                for t in TABLES:
                    size[t] = max(size[t], m.connection.table_size(t))
        self._sizes = sizes
        # Setpoints: (unit, table) -> address -> (slot, binding) for every address they span.
        self._writable: dict[tuple[int, Table], dict[int, tuple[int, ModbusBinding]]] = {}
        slots = {path: i for i, path in enumerate(self.paths)}
        for ref in plant.iter_signals():
            b = ref.signal.source.modbus
            if ref.signal.writable and b is not None and ref.path in slots:
                conn = plant.connection(b.connection)
                assert isinstance(conn, ModbusConnection)
                unit = conn.unit if b.unit is None else b.unit
                addresses = self._writable.setdefault((unit, b.table), {})
                for r in range(b.register, b.register + b.words):
                    addresses[r] = (slots[ref.path], b)
        self.held = np.zeros(len(self.paths), np.bool_)  # setpoints a client wrote
        # Bit tables are kept packed, 16 bits a word (see registers.pack_bits), which is also
        # how pymodbus stores them.
        self.images: dict[int, dict[Table, Words]] = {
            unit: {t: np.zeros(_words(t, n), np.uint16) for t, n in s.items()}
            for unit, s in sizes.items()
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

    def set_texts(self, slots: npt.ArrayLike, texts: Sequence[str]) -> None:
        """Set the texts of the string signals at ``slots``; a text longer than its registers
        hold is cut, as a PLC's string variable would be."""
        index = np.asarray(slots, dtype=np.intp)
        self._texts[index] = list(texts)
        self._encode()

    def set_arrays(self, slots: npt.ArrayLike, rows: Sequence[npt.ArrayLike]) -> None:
        """Set the arrays of the array signals at ``slots``, each of its signal's length."""
        index = np.asarray(slots, dtype=np.intp).tolist()
        for slot, row in zip(index, rows, strict=True):
            values = np.asarray(row, dtype=np.float64)
            if values.shape != self._arrays[slot].shape:
                raise SmartfabError(
                    f"{self.paths[slot]}: {values.shape[0]} elements, its registers hold "
                    f"{self._arrays[slot].shape[0]}"
                )
            self._arrays[slot] = values
        self._encode()

    def _encode(self) -> None:
        for i, m in enumerate(self.maps):
            lo, hi = self._bounds[i], self._bounds[i + 1]
            m.encode_into(self.images, self._values[lo:hi], self._texts[lo:hi], self._arrays[lo:hi])

    def _client_write(
        self, unit: int, table: Table, address: int, values: list[int]
    ) -> ExcCodes | None:
        """Take a client's write of ``values`` (register words, or coil bits) from ``address``:
        only setpoint addresses may be written."""
        writable = self._writable.get((unit, table), {})
        targets = [writable.get(r) for r in range(address, address + len(values))]
        if not values or any(t is None for t in targets):
            return ExcCodes.ILLEGAL_ADDRESS
        image = self.images[unit]["holding"]
        if table == "holding":  # a write may cover a part of a value: decode the whole one
            image[address : address + len(values)] = values
        for slot, b in {t[0]: t[1] for t in targets if t is not None}.items():
            if table == "coil":
                self._values[slot] = float(bool(values[b.register - address]))
            else:
                words = image[b.register : b.register + b.words]
                self._values[slot] = decode(words, b.type, b.word_order, b.scale, b.offset)[0]
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
        writable = {t for u, t in self._writable if u == unit}
        image = self.images[unit]

        def table(t: Table) -> list[SimData]:
            # Writes reach on_access only where pymodbus' store is writable; it refuses others.
            readonly = t not in writable
            n = self._sizes[unit][t]
            if t in BIT_TABLES:
                # pymodbus needs bits in both bit tables; a device without the table refuses
                # every access to it (on_access below).
                return [SimData(0, values=[False] * 16, count=max(1, _words(t, n)),
                                datatype=DataType.BITS, readonly=readonly)]  # fmt: skip
            if n == 0:  # a device without this table answers "illegal address"
                return [SimData(0, datatype=DataType.INVALID)]
            return [SimData(0, count=n, datatype=DataType.REGISTERS, readonly=readonly)]

        async def on_access(
            function_code: int,
            start_address: int,
            address: int,
            count: int,
            registers: list[int],
            _set_values: list[int] | list[bool] | None,
        ) -> ExcCodes | None:
            if _set_values is not None:
                target = _WRITE_TABLE.get(function_code)
                if target is None:
                    return ExcCodes.ILLEGAL_FUNCTION
                return self._client_write(unit, target, address, [int(v) for v in _set_values])
            # The images are the truth; copy the requested range into pymodbus' store. For bits
            # ``address`` counts bits and ``count`` the 16-bit words that hold them.
            table_name = _READ_TABLE.get(function_code)
            if table_name is not None and self._sizes[unit][table_name] == 0:
                return ExcCodes.ILLEGAL_ADDRESS
            if table_name is not None:
                first = address // 16 if table_name in BIT_TABLES else address
                lo = first - start_address
                registers[lo : lo + count] = image[table_name][first : first + count].tolist()
            return None

        return SimDevice(
            unit,
            simdata=(table("coil"), table("discrete_input"), table("holding"), table("input")),
            action=on_access,
            use_bit_addressing=True,  # coil n is bit n % 16 of word n // 16, as in the images
        )


def _words(table: Table, n: int) -> int:
    """The 16-bit words of an image of ``n`` addresses of ``table``."""
    return -(-n // 16) if table in BIT_TABLES else n


def _listener(server: ModbusTcpServer) -> asyncio.Server:
    # pymodbus types the transport of every protocol object as BaseTransport; a listening TCP
    # server's is the asyncio.Server made by loop.create_server.
    return cast(asyncio.Server, server.transport)
