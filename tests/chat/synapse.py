"""A real Matrix homeserver for the tests: Synapse from the package index, SQLite, loopback.

``scripts/synapse.sh`` installs Synapse into its own virtual environment (once, under a cache
directory); :class:`Synapse` writes a configuration in a temporary directory, starts the
homeserver on a free loopback port, and registers people with the registration shared
secret. Kept free of pytest: ``bench/chat.py`` uses it too.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parents[2]
SERVER_NAME = "localhost"
_CONFIG = """\
server_name: "{server}"
pid_file: "{dir}/homeserver.pid"
listeners:
  - port: {port}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "{dir}/homeserver.db"
log_config: "{dir}/log.yaml"
media_store_path: "{dir}/media"
signing_key_path: "{dir}/signing.key"
registration_shared_secret: "{secret}"
macaroon_secret_key: "{macaroon}"
form_secret: "{form}"
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
enable_metrics: false
presence:
  enabled: false
rc_message: {{per_second: 10000, burst_count: 10000}}
rc_joins:
  local: {{per_second: 10000, burst_count: 10000}}
  remote: {{per_second: 10000, burst_count: 10000}}
rc_invites:
  per_room: {{per_second: 10000, burst_count: 10000}}
  per_user: {{per_second: 10000, burst_count: 10000}}
rc_registration: {{per_second: 10000, burst_count: 10000}}
rc_room_creation: {{per_second: 10000, burst_count: 10000}}
rc_joins_per_room: {{per_second: 10000, burst_count: 10000}}
rc_login:
  address: {{per_second: 10000, burst_count: 10000}}
  account: {{per_second: 10000, burst_count: 10000}}
  failed_attempts: {{per_second: 10000, burst_count: 10000}}
"""
_LOG = """\
version: 1
formatters:
  plain: {{format: "%(asctime)s %(levelname)s %(name)s %(message)s"}}
handlers:
  file: {{class: logging.FileHandler, filename: "{dir}/homeserver.log", formatter: plain}}
root: {{level: WARNING, handlers: [file]}}
disable_existing_loggers: false
"""


class Unavailable(Exception):
    """Synapse could not be installed or started here (the reason says which)."""


def installed_python() -> str:
    """The python of Synapse's own environment (installing it once); Unavailable otherwise."""
    try:
        done = subprocess.run(
            ["bash", str(ROOT / "scripts" / "synapse.sh")],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"scripts/synapse.sh did not finish: {exc}") from None
    if done.returncode != 0 or not done.stdout.strip():
        tail = " ".join(done.stderr.strip().splitlines()[-2:])
        raise Unavailable(f"scripts/synapse.sh could not install matrix-synapse: {tail}")
    return done.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Account:
    user_id: str
    token: str
    device_id: str


class Synapse:
    """One homeserver in ``directory``; ``with Synapse(python, directory) as hs: ...``."""

    def __init__(self, python: str, directory: Path) -> None:
        self.python, self.dir = python, directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret = secrets.token_hex(16)
        self._process: subprocess.Popen[bytes] | None = None
        self._txn = itertools.count(1)

    def __enter__(self) -> Synapse:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def configure(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.dir / "homeserver.yaml"
        config.write_text(
            _CONFIG.format(
                server=SERVER_NAME,
                dir=self.dir,
                port=self.port,
                secret=self.secret,
                macaroon=secrets.token_hex(16),
                form=secrets.token_hex(16),
            )
        )
        (self.dir / "log.yaml").write_text(_LOG.format(dir=self.dir))
        keys = subprocess.run(
            [self.python, "-m", "synapse.app.homeserver", "-c", str(config), "--generate-keys"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if keys.returncode != 0:
            raise Unavailable(f"Synapse could not make its keys: {keys.stderr.strip()[-300:]}")
        return config

    def start(self, timeout: float = 90.0) -> None:
        config = self.dir / "homeserver.yaml"
        if not config.exists():
            config = self.configure()
        log = (self.dir / "stdout.log").open("ab")
        self._process = subprocess.Popen(
            [self.python, "-m", "synapse.app.homeserver", "-c", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise Unavailable(
                    f"Synapse exited with {self._process.returncode}; see {self.dir}/stdout.log"
                )
            try:
                if httpx.get(f"{self.url}/_matrix/client/versions", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise Unavailable(f"Synapse did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def register(self, name: str, password: str = "") -> Account:
        """A new account, through the admin API and the registration shared secret."""
        password = password or secrets.token_hex(8)
        path = f"{self.url}/_synapse/admin/v1/register"
        nonce = httpx.get(path, timeout=10).json()["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        mac.update(f"{nonce}\x00{name}\x00{password}\x00notadmin".encode())
        body = {
            "nonce": nonce,
            "username": name,
            "password": password,
            "admin": False,
            "mac": mac.hexdigest(),
        }
        data = httpx.post(path, json=body, timeout=30).json()
        if "access_token" not in data:
            raise Unavailable(f"Synapse did not register {name}: {data}")
        return Account(data["user_id"], data["access_token"], data["device_id"])

    # --- what people do, straight through the client-server API ---------------------------

    def call(self, who: Account, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {who.token}"}
        response = httpx.request(
            method, f"{self.url}/_matrix/client/v3{path}", headers=headers, timeout=30, **kwargs
        )
        response.raise_for_status()
        return response.json()

    def create_room(self, who: Account, invite: list[str]) -> str:
        body = {"preset": "private_chat", "invite": invite, "name": "Release incident"}
        return str(self.call(who, "POST", "/createRoom", json=body)["room_id"])

    def join(self, who: Account, room: str) -> None:
        self.call(who, "POST", f"/join/{quote(room)}", json={})

    def say(self, who: Account, room: str, text: str) -> str:
        txn = f"t{time.monotonic_ns()}{next(self._txn)}"
        path = f"/rooms/{quote(room)}/send/m.room.message/{txn}"
        return str(
            self.call(who, "PUT", path, json={"msgtype": "m.text", "body": text})["event_id"]
        )

    def react(self, who: Account, room: str, target: str, key: str = "✅") -> str:
        txn = f"r{time.monotonic_ns()}{next(self._txn)}"
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}
        path = f"/rooms/{quote(room)}/send/m.reaction/{txn}"
        return str(self.call(who, "PUT", path, json=content)["event_id"])

    def messages(self, who: Account, room: str, limit: int = 200) -> list[dict[str, Any]]:
        """The room's messages, oldest first."""
        data = self.call(
            who, "GET", f"/rooms/{quote(room)}/messages", params={"dir": "b", "limit": limit}
        )
        events = [e for e in data["chunk"] if e.get("type") == "m.room.message"]
        return list(reversed(events))


def main() -> None:  # pragma: no cover - a manual check: python -m tests.chat.synapse
    with Synapse(installed_python(), Path(sys.argv[1])) as hs:
        print(hs.url, hs.register("probe"))


if __name__ == "__main__":  # pragma: no cover
    main()
