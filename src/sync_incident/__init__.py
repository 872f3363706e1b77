"""sync-incident: run release incidents inside one Bugzilla bug or GitHub issue."""

__version__ = "0.1.0"
