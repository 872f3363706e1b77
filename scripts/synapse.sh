#!/usr/bin/env bash
# Make sure a Matrix homeserver (Synapse, from the package index) can run for tests/chat: it is
# installed into its own virtual environment under a cache directory (its dependencies never
# mix with the project's), once; later runs reuse it. Prints the path of that environment's
# python on stdout, nothing else there; progress goes to stderr.
#
#   SYNC_INCIDENT_TEST_SYNAPSE_VENV   where the environment lives
#                                     (default: ~/.cache/sync-incident-test/synapse)
set -euo pipefail
venv="${SYNC_INCIDENT_TEST_SYNAPSE_VENV:-${HOME}/.cache/sync-incident-test/synapse}"
if ! "$venv/bin/python" -c 'import synapse' >/dev/null 2>&1; then
  echo "Installing matrix-synapse into $venv (once; a minute or two)..." >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  # SQLite only: no extras (no PostgreSQL, no Redis)
  "$venv/bin/python" -m pip install --quiet 'matrix-synapse>=1.100' >&2
fi
"$venv/bin/python" -c 'import synapse; print("matrix-synapse", synapse.__version__)' >&2
echo "$venv/bin/python"
