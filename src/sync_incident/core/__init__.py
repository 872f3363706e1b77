"""Pure domain logic: events, comments, the codec, the fold, the policy and readiness.

Nothing here does I/O or imports from trackers, the service or the CLI.
"""
