"""How the fake GitHub answers: JSON with rate-limit headers, ETags and 304s, pagination.

:class:`Call` is one request as the route handlers see it (who sent it, its parameters and
body) with the answers they give.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from sync_incident.testing.github.payloads import err, invalid
from sync_incident.testing.github.ratelimit import rate_headers
from sync_incident.testing.github.state import FakeUser

if TYPE_CHECKING:
    from sync_incident.testing.github.fake import FakeGitHub


def json_response(
    fake: FakeGitHub, status: int, data: Any, *, token: str | None = None, etag: bool = False
) -> httpx.Response:
    content = json.dumps(data).encode()
    headers = {"content-type": "application/json; charset=utf-8"}
    if etag:
        headers["etag"] = f'W/"{hashlib.sha256(content).hexdigest()[:40]}"'
    response = httpx.Response(status, content=content, headers=headers)
    rate_headers(fake, response, token)
    return response


def conditional(
    fake: FakeGitHub, data: Any, request: httpx.Request, token: str | None
) -> httpx.Response:
    """200 with an ETag, or an empty 304 when ``If-None-Match`` names it (weak or not)."""
    response = json_response(fake, 200, data, token=token, etag=True)
    etag = response.headers["etag"]
    sent = request.headers.get("if-none-match")
    if sent is not None and sent.removeprefix("W/") == etag.removeprefix("W/"):
        return httpx.Response(304, headers={"etag": etag})
    return response


def page(
    fake: FakeGitHub,
    items: list[Any],
    params: dict[str, str],
    request: httpx.Request,
    token: str | None,
) -> httpx.Response:
    """One ``per_page`` page of ``items`` (conditional), with GitHub's ``Link`` header."""
    per_page = min(max(int(params.get("per_page", "30")), 1), 100)
    number = max(int(params.get("page", "1")), 1)
    chunk = items[(number - 1) * per_page : number * per_page]
    response = conditional(fake, chunk, request, token)
    last = max((len(items) + per_page - 1) // per_page, 1)
    if last > 1:
        response.headers["link"] = _links(fake, params, request, number, last)
    return response


def _links(
    fake: FakeGitHub, params: dict[str, str], request: httpx.Request, number: int, last: int
) -> str:
    repo, rest = fake.repo_at(fake.strip_base(request.url.path))
    # like github.com, page links address the repository by id, not by name
    prefix = f"{fake.base_url}/repositories/{repo.id}{rest}" if repo else str(request.url)
    links = []
    for rel, target in (("prev", number - 1), ("next", number + 1), ("first", 1), ("last", last)):
        if 1 <= target <= last and not (rel in ("first", "prev") and number == 1):
            query = urlencode({**params, "page": str(target)})
            links.append(f'<{prefix}?{query}>; rel="{rel}"')
    return ", ".join(links)


@dataclass
class Call:
    """One authenticated (or anonymous) request, as a route handler sees it."""

    fake: FakeGitHub
    request: httpx.Request
    method: str
    params: dict[str, str]
    body: Any
    user: FakeUser | None

    @property
    def token(self) -> str | None:
        return self.user.token if self.user else None

    def answer(self, status: int, data: Any, *, etag: bool = False) -> httpx.Response:
        return json_response(self.fake, status, data, token=self.token, etag=etag)

    def error(self, status: int, message: str) -> httpx.Response:
        return self.answer(status, err(message))

    def not_found(self) -> httpx.Response:
        return self.error(404, "Not Found")

    def no_push(self) -> httpx.Response:
        return self.error(403, "Must have push access")

    def invalid(self, resource: str, code: str, field_name: str) -> httpx.Response:
        return self.answer(422, invalid(resource, code, field_name))

    def conditional(self, data: Any) -> httpx.Response:
        return conditional(self.fake, data, self.request, self.token)

    def page(self, items: list[Any]) -> httpx.Response:
        return page(self.fake, items, self.params, self.request, self.token)

    def body_field(self, name: str) -> Any:
        """``body[name]`` when the body is a JSON object, else None."""
        return self.body.get(name) if isinstance(self.body, dict) else None
