"""``sync-incident serve``: a live status page, webhooks, the gate over HTTP, metrics.

One process runs the daemon's cycle and a Starlette application on uvicorn:

- :mod:`.board`: what the daemon knows (its watches), as the pages and the API read it;
- :mod:`.lookup`: an incident the daemon does not watch (resolved), read on demand, bounded;
- :mod:`.view`: one incident card, a pure view model (verdicts from the one readiness);
- :mod:`.pages`: the HTML (status page, incident page, retrospective), live via SSE;
- :mod:`.api`: the JSON API and the gate over HTTP (read fresh, fails closed);
- :mod:`.webhooks`: one endpoint per backend webhook source, the replay store, witness events, pokes;
- :mod:`.metrics`: the Prometheus text format and the counting transport;
- :mod:`.app`: the routes and access control;
- :mod:`.runner`: uvicorn and the daemon on one loop, SIGTERM drains.

Imported only by ``sync-incident serve``: no other command pays for Starlette or uvicorn.
"""
