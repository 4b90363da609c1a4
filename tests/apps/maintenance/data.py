"""The shared public data for maintenance tests: skip with the reason when it is absent, fail on
CI (the scheduling tests' helper, one place for the rule)."""

from tests.apps.scheduling.data import shared

__all__ = ["shared"]
