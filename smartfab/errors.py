"""The base of every error smartfab expects to report to a person."""


class SmartfabError(Exception):
    """An error with a message that says what went wrong and what to do; the CLI prints it as one
    line and exits non-zero."""
