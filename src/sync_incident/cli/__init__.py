"""The command line: thin adapters over :mod:`sync_incident.service`."""

from sync_incident.cli.app import main

__all__ = ["main"]
