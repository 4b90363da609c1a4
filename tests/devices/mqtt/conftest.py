from __future__ import annotations

import pytest

from tests.devices.mqtt.broker import shared_broker_port


@pytest.fixture
def shared_broker() -> int:
    """The port of the shared Mosquitto at 127.0.0.1:1883."""
    return shared_broker_port()
