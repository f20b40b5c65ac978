"""state-resync: keep a state education agency's warehouse in step with its school districts."""

__version__ = "0.1.0"
