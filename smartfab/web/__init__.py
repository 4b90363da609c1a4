"""INTERFACES: the REST API (and, later, the web app) served by one process."""
