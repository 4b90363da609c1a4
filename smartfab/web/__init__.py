"""INTERFACES: the REST API and the web app, served by one process."""
