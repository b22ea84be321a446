"""A real AT Protocol PDS on 127.0.0.1 for the Bluesky tests and benchmark: @atproto/pds and a
PLC directory in one Node process (stack/pds/serve.js, installed by `make pds`), on a data
directory that outlives the process, so a test can SIGKILL it mid-write and start it again."""
import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from .processes import group_stop
from .waiting import free_port, port_open, wait_for

PDS_DIR = Path(__file__).resolve().parent / "pds"


class PdsError(Exception):
    """The PDS answered an admin or account call with an error."""

    def __init__(self, status: int, body):
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


class LocalPds:
    """One PDS process on its data directory. `rate_limit_writes="POINTS/SECONDS"` turns the PDS's
    rate limits on with that small a write budget per account (a putRecord costs 2 points)."""

    def __init__(self, data_dir: Path, *, log: Path | None = None, rate_limit_writes: str | None = None):
        self.data_dir = Path(data_dir)
        self.log = log or self.data_dir.with_suffix(".log")
        self.rate_limit_writes = rate_limit_writes
        self.port = free_port()
        self.plc_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    # --- lifecycle --------------------------------------------------------------------
    def start(self, timeout: float = 180):
        if not (PDS_DIR / "node_modules" / "@atproto" / "pds").is_dir():
            raise AssertionError("the PDS is not installed: run `make pds` (npm ci in stack/pds)")
        env = {**os.environ, "PDS_PORT": str(self.port), "PLC_PORT": str(self.plc_port)}
        if self.rate_limit_writes:
            env["RATE_LIMIT_WRITES"] = self.rate_limit_writes
        log = open(self.log, "ab")
        self.process = subprocess.Popen(
            ["node", str(PDS_DIR / "serve.js"), str(self.data_dir)], cwd=PDS_DIR, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        # 1.5 to 3 s on a quiet machine, several times that on a loaded one.
        wait_for(self._healthy_or_dead, timeout, interval=0.1, what=f"the PDS on {self.url} (log: {self.log})")
        if self.process.poll() is not None:
            raise AssertionError(f"the PDS exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
        return self

    def _healthy_or_dead(self) -> bool:
        return self.process.poll() is not None or self.healthy()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/xrpc/_health", timeout=2) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def stop(self, sig=signal.SIGTERM):
        """Stops the process (SIGKILL: as a crash, mid-write) and waits until its ports are free."""
        process, self.process = self.process, None
        group_stop(process, sig, wait=20)
        wait_for(lambda: not port_open(self.port) and not port_open(self.plc_port), 30, what="the PDS's ports free")

    def kill(self):
        self.stop(signal.SIGKILL)

    def restart(self, sig=signal.SIGKILL):
        """Stops the PDS (SIGKILL by default) and starts it again on the same data directory and ports."""
        self.stop(sig)
        return self.start()

    # --- accounts -----------------------------------------------------------------------
    def call(self, method: str, nsid: str, body=None, *, token: str | None = None, params: str = ""):
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = f"{self.url}/xrpc/{nsid}" + (f"?{params}" if params else "")
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            text = error.read().decode()
            raise PdsError(error.code, json.loads(text) if text.startswith("{") else text) from None

    def create_account(self, handle: str, password: str) -> str:
        """Creates the account (handle under .test) and returns its DID."""
        answer = self.call("POST", "com.atproto.server.createAccount", {
            "handle": handle, "email": f"{handle}@example.test", "password": password,
        })
        return answer["did"]

    def session(self, handle: str, password: str) -> str:
        """An access token, logged in with the account's own password."""
        return self.call("POST", "com.atproto.server.createSession", {"identifier": handle, "password": password})["accessJwt"]

    def create_app_password(self, handle: str, password: str, name: str) -> str:
        token = self.session(handle, password)
        return self.call("POST", "com.atproto.server.createAppPassword", {"name": name}, token=token)["password"]

    def revoke_app_password(self, handle: str, password: str, name: str):
        token = self.session(handle, password)
        self.call("POST", "com.atproto.server.revokeAppPassword", {"name": name}, token=token)

    def list_records(self, did: str, collection: str = "app.bsky.feed.post") -> list[dict]:
        """Every record of the collection, through listRecords' pages."""
        records, cursor = [], None
        while True:
            params = f"repo={did}&collection={collection}&limit=100" + (f"&cursor={cursor}" if cursor else "")
            page = self.call("GET", "com.atproto.repo.listRecords", params=params)
            records += page["records"]
            cursor = page.get("cursor")
            if not cursor or not page["records"]:
                return records
