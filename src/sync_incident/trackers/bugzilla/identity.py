"""Whose key this is: named without a request when known, checked once before the first write.

- ``whoami`` asks nothing when the account is known: remembered for a day per server and key
  fingerprint, or named by ``[bugzilla] login``. So a command the rules refuse makes no key
  check. Otherwise BMO and upstream 5.1+ answer ``/rest/whoami``; 5.0/5.2 have none (404, code
  32614, remembered for a day) and need the login.
- Before the first write with a key, the key is checked once (``/rest/whoami``, or
  ``/rest/valid_login`` with the login on 5.0/5.2) and remembered for a day; a key the server
  refuses later (code 306) is forgotten, so it is checked again. Auth errors are never retried.
"""

from __future__ import annotations

from collections.abc import Callable

from sync_incident.core.comments import Account
from sync_incident.core.errors import AuthError, NotConfigured, ProtocolError
from sync_incident.trackers.bugzilla.client import (
    KEY_HINT,
    BugzillaClient,
    RouteMissing,
    auth_style_for,
)
from sync_incident.trackers.memory import ServerMemory


class Identity:
    """The account behind the key, and the once-a-day key check."""

    def __init__(
        self,
        http: BugzillaClient,
        memory: ServerMemory,
        key: str | None,
        login: str | None,
        version: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._http = http
        self._version = version
        self._memory = memory
        self._key = key
        self._login = login  # 5.0/5.2 have no /rest/whoami: the login names the account
        self._me: Account | None = None

    def known(self) -> Account | None:
        if self._me is None:
            self._me = self._memory.identity() or (Account(self._login) if self._login else None)
        return self._me

    def login(self) -> str | None:
        me = self.known()
        return me.login if me else None

    def ours(self, login: str) -> bool:
        mine = self.login()
        return mine is None or login == mine

    def require_key(self) -> str:
        if not self._key:
            raise NotConfigured(
                "no Bugzilla API key is configured",
                hint="set SYNC_INCIDENT_BUGZILLA_API_KEY; reading public bugs needs no key",
            )
        return self._key

    async def whoami(self) -> Account:
        """The key's account; no request when it is known (remembered, or the login is set)."""
        me = self.known()
        if me is not None:
            return me
        self.require_key()
        if await self._has_whoami():
            me = await self.ask_whoami()
            if me is not None:
                return me
        raise NotConfigured(
            f"{self._http.endpoint.where()} has no /rest/whoami (Bugzilla 5.0/5.2), so the "
            "key's account cannot be named without a login",
            hint="set your Bugzilla login: [bugzilla] login or SYNC_INCIDENT_BUGZILLA__LOGIN",
        )

    async def _has_whoami(self) -> bool:
        """False when the server is known to lack it: remembered, or 5.0/5.2 by its version.

        The version is learnt first when unknown (the request the key's placement needs
        anyway), so a 5.2 server is not asked for a /rest/whoami it answers with a 404.
        """
        if self._memory.lacks_whoami():
            return False
        if self._version() is None:
            await self._http.get("/rest/version")
        version = self._version()
        if version and auth_style_for(version) == "param":
            return False  # upstream 5.0/5.2 (and older) have no /rest/whoami
        return not self._memory.lacks_whoami()

    async def ask_whoami(self) -> Account | None:
        """``GET /rest/whoami``; None when the server has none (remembered for a day)."""
        try:
            data = (await self._http.get("/rest/whoami")).object("GET /rest/whoami")
            me = Account(
                str(data["name"]), str(data.get("id", "")) or None, str(data.get("real_name", ""))
            )
        except RouteMissing:
            self._memory.remember_lacks_whoami()
            return None
        except AuthError:
            self._memory.forget_key()
            raise
        except (KeyError, TypeError) as exc:
            where = f"{self._http.endpoint.where()}: GET /rest/whoami"
            raise ProtocolError(f"{where}: unexpected answer ({type(exc).__name__})") from None
        if self._login and me.login != self._login:
            raise AuthError(
                f"the Bugzilla API key belongs to {me.login}, not to {self._login}",
                hint="set the key of the configured login, or fix [bugzilla] login",
            )
        self._memory.remember_key(me)
        self._me = me
        return me

    async def check_key(self) -> None:
        """Before the first write with this key: check it once (remembered for a day)."""
        self.require_key()
        if self._memory.key_checked():
            return
        if await self._has_whoami() and await self.ask_whoami() is not None:
            return
        if not self._login:
            return  # nothing to check against: the write itself fails fast on a bad key
        await self._ask_about_ourselves(self._login)

    async def _ask_about_ourselves(self, login: str) -> None:
        """``GET /rest/user`` about our login: the key check and the editbugs question at once.

        Only the account itself gets ``saved_searches`` back (not even an admin does), so
        the answer proves the key is this login's; its ``groups`` say whether it has
        ``editbugs``. Without it, the mirror is left to others: no PUT bound to fail (115).
        """
        params = {"names": login, "include_fields": "name,groups,saved_searches"}
        try:
            reply = await self._http.get("/rest/user", params)
        except AuthError:
            self._memory.forget_key()
            raise
        users = reply.object("GET /rest/user").get("users")
        found = users[0] if isinstance(users, list) and users else None
        if not isinstance(found, dict) or "saved_searches" not in found:
            # a key of another account, or a header-only key on 5.2 read as anonymous
            raise AuthError(
                f"Bugzilla does not accept the API key for {login}",
                hint=KEY_HINT + '; on Bugzilla 5.0/5.2 use auth = "param"',
            )
        groups = {g.get("name") for g in found.get("groups") or [] if isinstance(g, dict)}
        if "editbugs" in groups:
            self._memory.forget_may_not_write(login)
        else:
            self._memory.remember_may_not_write(login)
        self._memory.remember_key(Account(login))
