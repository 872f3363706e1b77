"""The use cases, each written once; the CLI, ``serve``, the Action, the daemon and chat call them.

- :mod:`.decide`: the gate's verdict on one release, from a fresh read;
- :mod:`.act`: apply an intent (:mod:`.intents`) to one reading and post it once;
- :mod:`.once`: exactly-once posting of what the tool derives (digests, reminders, witnesses);
- :mod:`.overview`: the state and one verdict per release, which every view renders.

Adapters parse input and render output; everything between lives here or below (the pure
core, the trackers). Nothing is imported here: a command loads only the use case it runs.
"""
