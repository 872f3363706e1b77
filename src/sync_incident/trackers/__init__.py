"""Tracker backends: one module per tracker behind the :class:`~.base.Tracker` protocol."""
