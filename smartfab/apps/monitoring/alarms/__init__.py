"""Alarms: rules from the plant file evaluated on the live data, an ISA-18.2 life cycle, a journal
in the event store, EEMUA 191 alarm-load figures and notifications. See docs/alarms.md.

:class:`~smartfab.apps.monitoring.alarms.engine.AlarmEngine` is the running part and the service
API that the web layer calls.
"""
