"""Status digests: what every active incident needs from people, on one screen.

- :mod:`.model`: the documented ``digest --json`` schema and its Markdown (pure);
- :mod:`.schedule`: periods, keys and derived event ids that make each digest post once;
- :mod:`.webhooks`: Slack / Matrix delivery;
- :mod:`.run`: what the ``digest`` command runs.
"""
