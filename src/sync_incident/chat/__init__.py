"""Chat rooms bound to an incident: the record brought into the room, the room into the record.

A Matrix room or a Slack channel is bound to one incident (in the configuration, or by the
incident commander from the room: ``room.bound`` on the tracker). Then, inside ``serve``:

- every event of the incident is announced once in the room (:mod:`.announce`);
- people act from the room (``!incident hold …`` in Matrix, ``/incident hold …`` in Slack):
  :mod:`.commands` parses what they typed into the application layer's intents, and
  :mod:`.bot` runs them through :func:`~sync_incident.application.act.act` and
  :func:`~sync_incident.application.decide.decide`, with the chat identity as the relay's
  ``via``; what the gate counts asks for a confirmation first;
- vague decisions said in the room get one reply with the explicit forms, and an explicit
  sentence gets a one-tap offer to record it (:mod:`.vague`).

Nothing said in a room counts until it is on the tracker. The chat servers authenticate the
sender (Matrix: the homeserver's sync; Slack: the signed request); the policy maps chat
identities to people, and the fold counts a relayed event only from a relay account.

Transports: :mod:`.matrix` (matrix-nio's client, a sync loop) and :mod:`.slack` (Slack's
signed HTTP requests, slack-sdk's verifier and Web API client). Both are imported by
``serve`` only; nothing here is imported by the other commands.
"""
