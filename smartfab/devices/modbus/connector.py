"""Modbus TCP connector: polls the blocks of one connection (coils, discrete inputs, holding and
input registers, of any unit id) and decodes them vectorised: numbers into a PointBatch, strings
into a TextBatch and arrays into an ArrayBatch per poll.

A block that the device refuses (exception response) or answers with something that is not the
registers asked for yields no points and counts an error naming the block and its signals; nothing
wrong is ever emitted. A lost connection raises from ``_stream`` so that ``Connector.run``
reconnects and reports the gap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import numpy as np
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ConnectionException, ModbusIOException

from smartfab.devices.connector import (
    Backoff,
    Connector,
    Mismatch,
    PointSink,
    SignalIds,
    quiet_library,
)
from smartfab.devices.modbus.registers import (
    DEFAULT_MAX_HOLE,
    ReadBlock,
    RegisterMap,
    Table,
    Words,
    decode,
    encode_one,
    pack_bits,
)
from smartfab.errors import SmartfabError
from smartfab.model.plant import (
    BIT_TABLES,
    TABLE_TITLES,
    ModbusBinding,
    ModbusConnection,
    Plant,
    Signal,
)
from smartfab.platform.points import ArrayBatch, PointBatch, TextBatch, now_us
from smartfab.platform.setpoints import SetpointError

log = logging.getLogger(__name__)
quiet_library("pymodbus.logging")

_FUNCTION_CODE = {"coil": 1, "discrete_input": 2, "holding": 3, "input": 4}


class ModbusConnector(Connector):
    """Reads the signals of ``register_map`` every ``poll_ms`` of its connection.

    ``timeout_s`` bounds each request; pymodbus' own reconnection and retries are off, because
    ``Connector.run`` reconnects and the next poll is the retry.
    """

    protocol = "modbus"

    def __init__(
        self,
        register_map: RegisterMap,
        signal_ids: Mapping[str, int],
        *,
        timeout_s: float = 1.0,
        backoff: Backoff | None = None,
    ) -> None:
        conn = register_map.connection
        super().__init__(conn.name, f"modbus://{conn.host}:{conn.port}/{conn.unit}", backoff)
        missing = [p for p in register_map.paths if p not in signal_ids]
        if missing:
            raise SmartfabError(f"connection {conn.name!r}: no signal id for {', '.join(missing)}")
        self.map = register_map
        self.timeout_s = timeout_s
        self._ids = np.array([signal_ids[p] for p in register_map.paths], dtype=np.int32)
        self._signal_ids = SignalIds.of(self._ids, register_map.kinds)
        self._client: AsyncModbusTcpClient | None = None
        self._block_errors: dict[int, str] = {}  # block index -> its current problem
        self.status.signals = len(register_map.paths)

    @property
    def signal_ids(self) -> SignalIds:
        return self._signal_ids

    @classmethod
    def from_plant(
        cls,
        plant: Plant,
        connection: str,
        signal_ids: Mapping[str, int],
        *,
        max_hole: int = DEFAULT_MAX_HOLE,
        timeout_s: float = 1.0,
        backoff: Backoff | None = None,
    ) -> ModbusConnector:
        register_map = RegisterMap.for_connection(plant, connection, max_hole=max_hole)
        connector = cls(register_map, signal_ids, timeout_s=timeout_s, backoff=backoff)
        connector.setpoints = {
            ref.path: ref.signal
            for ref in plant.iter_signals()
            if ref.signal.writable and ref.path in register_map.paths
        }
        return connector

    @classmethod
    def probe(cls, connection: ModbusConnection, *, timeout_s: float = 2.0) -> ModbusConnector:
        """A connector of ``connection`` bound to no signal: to read register ranges from."""
        return cls(RegisterMap(connection, (), (), {}), {}, timeout_s=timeout_s)

    async def read_range(self, unit: int, table: Table, start: int, count: int) -> Words:
        """``count`` registers of ``table`` from ``start`` (bit tables: one 0 or 1 per address),
        over a connection of its own; raises SmartfabError with the device's refusal, and
        ConnectionError when the device cannot be reached."""
        await self._connect()
        try:
            answer = await self._request(unit, table, start, count)
        finally:
            await self._disconnect()
        if isinstance(answer, str):
            raise SmartfabError(f"{_where(unit, table, start, count)}: {answer}")
        if table in BIT_TABLES:
            return np.unpackbits(answer.view(np.uint8), bitorder="little")[:count].astype(np.uint16)
        return answer

    async def _connect(self) -> None:
        conn = self.map.connection
        client = AsyncModbusTcpClient(
            conn.host, port=conn.port, timeout=self.timeout_s, retries=0, reconnect_delay=0
        )
        if not await client.connect():
            client.close()
            raise ConnectionError(f"cannot connect to {conn.host}:{conn.port}")
        self._client = client

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def _stream(self, emit: PointSink) -> None:
        loop = asyncio.get_running_loop()
        period = self.map.connection.poll_ms / 1000
        due = loop.time()
        while not self.stopping.is_set():
            ts = now_us()
            numbers: list[PointBatch] = []
            texts: list[TextBatch] = []
            arrays: list[ArrayBatch] = []
            for i, block in enumerate(self.map.blocks):
                registers = await self._read(i, block)
                if registers is None:
                    continue
                if block.slots.shape[0]:
                    values = block.decode(registers)
                    numbers.append(PointBatch.of(ts, self._ids[block.slots], values))
                for text_codec in block.texts:
                    words = text_codec.decode(registers)
                    texts.append(TextBatch.of(ts, self._ids[text_codec.index], words.tolist()))
                for array_codec in block.arrays:
                    rows = array_codec.decode(registers)
                    arrays.append(ArrayBatch.of(ts, self._ids[array_codec.index], rows))
            if numbers:
                await emit(PointBatch.concat(numbers))
            if texts:
                await emit(TextBatch.concat(texts))
            if arrays:
                await emit(ArrayBatch.concat(arrays))
            # A poll that overran its period is not made up for: the next one starts now.
            due = max(due + period, loop.time())
            await self._sleep(due - loop.time())

    async def _read(self, index: int, block: ReadBlock) -> Words | None:
        """The block's registers (bits: packed, see ``pack_bits``), or None (error counted) when
        the device did not deliver them."""
        answer = await self._request(block.unit, block.table, block.start, block.count)
        if isinstance(answer, str):
            self._block_error(index, block, answer)
            return None
        if self._block_errors.pop(index, None) is not None:
            log.info("%s: %s read again", self.name, block.describe(self.map.paths))
        return answer

    async def _request(self, unit: int, table: Table, start: int, count: int) -> Words | str:
        """``count`` registers (bits: packed, see ``pack_bits``) from ``start`` of ``table`` of
        ``unit``, or why the device did not deliver them; raises ConnectionError when the
        connection is lost."""
        client = self._client
        conn = self.map.connection
        if client is None or not client.connected:
            raise ConnectionError(f"connection to {conn.host}:{conn.port} lost")
        read = {
            "coil": client.read_coils,
            "discrete_input": client.read_discrete_inputs,
            "holding": client.read_holding_registers,
            "input": client.read_input_registers,
        }[table]
        try:
            response = await read(start, count=count, device_id=unit)
        except ConnectionException as exc:
            raise ConnectionError(f"connection to {conn.host}:{conn.port} lost: {exc}") from exc
        except ModbusIOException as exc:
            if not client.connected:
                raise ConnectionError(f"connection to {conn.host}:{conn.port} lost: {exc}") from exc
            return f"no valid response ({exc})"
        if response.isError():
            return _exception_text(response)
        bits = table in BIT_TABLES
        # A bit answer is padded to whole bytes: only the first ``count`` bits are asked for.
        answer = getattr(response, "bits" if bits else "registers", None)
        if response.function_code != _FUNCTION_CODE[table] or answer is None:
            return f"unexpected response {type(response).__name__}"
        if len(answer) < count or (not bits and len(answer) != count):
            return f"{len(answer)} {'bits' if bits else 'registers'} in the answer"
        if bits:
            return pack_bits(answer[:count])
        return np.asarray(answer, dtype=np.uint16)

    # --- plant check --live ------------------------------------------------------------------

    async def check(self) -> list[Mismatch]:
        """Each signal whose addresses the device does not deliver (past its tables, a unit it
        does not serve), found by reading every block, and each signal of a refused block on its
        own, over a connection of its own."""
        await self._connect()
        try:
            mismatches = []
            for block in self.map.blocks:
                refused = await self._request(block.unit, block.table, block.start, block.count)
                if not isinstance(refused, str):
                    continue
                valued = [c.index for c in block.texts] + [c.index for c in block.arrays]
                members = sorted(np.concatenate([block.slots, *valued]).tolist())
                found = []
                for slot in members:
                    unit, table, start, count = self.map.spans[slot]
                    why = await self._request(unit, table, start, count)
                    if isinstance(why, str):
                        where = _where(unit, table, start, count)
                        problem = f"the device refuses them: {why}"
                        found.append(
                            Mismatch(self.map.paths[slot], where, problem, "source.modbus")
                        )
                # Each member alone is read: what is refused is a gap between them.
                where = block.describe(self.map.paths)
                problem = f"read together the device refuses them: {refused}"
                mismatches += found or [
                    Mismatch(self.map.paths[slot], where, problem, "source.modbus")
                    for slot in members
                ]
            return mismatches
        finally:
            await self._disconnect()

    # --- setpoints ---------------------------------------------------------------------------

    async def _write_setpoint(self, path: str, signal: Signal, value: float) -> None:
        binding = _binding(signal)
        unit = self._unit(binding)
        client = self._connected()
        try:
            if binding.table == "coil":
                where = f"coil {binding.register}"
                response = await client.write_coil(
                    binding.register, bool(value), device_id=unit
                )  # FC5
            else:
                where = f"holding register {binding.register}"
                try:
                    words = encode_one(value, binding)
                except SmartfabError as exc:
                    raise SetpointError(f"{path}: {exc}") from None
                # FC6 for one register: devices that implement only it are common.
                if len(words) == 1:
                    response = await client.write_register(
                        binding.register, words[0], device_id=unit
                    )
                else:
                    response = await client.write_registers(binding.register, words, device_id=unit)
        except (ConnectionException, ModbusIOException) as exc:
            raise SetpointError(f"{path}: write to unit {unit} failed: {exc}") from exc
        if response.isError():
            raise SetpointError(
                f"{path}: unit {unit} refused the write to {where}: {_exception_text(response)}"
            )
        log.info("%s: wrote %s = %g", self.name, path, value)

    async def _read_setpoint(self, path: str, signal: Signal) -> float:
        binding = _binding(signal)
        unit = self._unit(binding)
        client = self._connected()
        count = binding.words
        read = client.read_coils if binding.table == "coil" else client.read_holding_registers
        try:
            response = await read(binding.register, count=count, device_id=unit)
        except (ConnectionException, ModbusIOException) as exc:
            raise SetpointError(f"{path}: read from unit {unit} failed: {exc}") from exc
        answer = getattr(response, "bits" if binding.table == "coil" else "registers", None)
        if response.isError() or answer is None or len(answer) < count:
            raise SetpointError(f"{path}: unit {unit} did not answer the read: {response}")
        if binding.table == "coil":
            return float(answer[0])
        words = np.asarray(answer[:count], dtype=np.uint16)
        return float(
            decode(words, binding.type, binding.word_order, binding.scale, binding.offset)[0]
        )

    def _unit(self, binding: ModbusBinding) -> int:
        return self.map.connection.unit if binding.unit is None else binding.unit

    def _connected(self) -> AsyncModbusTcpClient:
        client = self._client
        if client is None or not client.connected:
            conn = self.map.connection
            raise SetpointError(f"not connected to {conn.host}:{conn.port}")
        return client

    def _block_error(self, index: int, block: ReadBlock, problem: str) -> None:
        message = f"{block.describe(self.map.paths)}: {problem}"
        self.status.errors += 1
        self.status.last_error = message
        # Log when a block's problem starts or changes, not on every poll of a persistent one.
        if self._block_errors.get(index) != problem:
            log.warning("%s: %s; no points from it", self.name, message)
        self._block_errors[index] = problem


def _binding(signal: Signal) -> ModbusBinding:
    binding = signal.source.modbus
    assert binding is not None  # setpoints of a Modbus connector are Modbus-bound
    return binding


def _where(unit: int, table: Table, start: int, count: int) -> str:
    last = f"-{start + count - 1}" if count > 1 else ""
    return f"unit {unit} {TABLE_TITLES[table]} {start}{last}"


def _exception_text(response: object) -> str:
    code = getattr(response, "exception_code", 0)
    try:
        return f"exception response {code} ({ExcCodes(code).name.lower()})"
    except ValueError:
        return f"exception response with unknown code {code}"
