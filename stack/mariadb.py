"""A private MariaDB server for a scenario (or the soak) that restarts the database: the shared one on
3306 serves every other test and stays up. Data in a temporary directory, 127.0.0.1 on a
free port, no grant tables (root, no password, like the shared one)."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import MySQLdb


def _ready(port: int) -> bool:
    try:
        MySQLdb.connect(host="127.0.0.1", port=port, user="root", passwd="", connect_timeout=2).close()
        return True
    except MySQLdb.Error:
        return False


class PrivateMariaDB:
    def __init__(self, port: int, logs):
        self.port = port
        self.logs = logs
        self.directory = tempfile.mkdtemp(prefix="psched-mariadb-")
        self.datadir = os.path.join(self.directory, "data")
        self.process = None

    def install(self):
        result = subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            capture_output=True, text=True, timeout=300,
        )
        if result.returncode != 0:
            raise AssertionError(f"mariadb-install-db failed:\n{result.stdout}{result.stderr}")
        return self

    def start(self, timeout: float = 120):
        log = open(self.logs / "mariadb.log", "ab")
        self.process = subprocess.Popen([
            shutil.which("mariadbd") or "/usr/sbin/mariadbd", "--no-defaults", f"--datadir={self.datadir}",
            "--user=root", "--bind-address=127.0.0.1", f"--port={self.port}",
            f"--socket={os.path.join(self.directory, 'mariadb.sock')}",
            f"--pid-file={os.path.join(self.directory, 'mariadb.pid')}",
            "--skip-grant-tables", "--skip-name-resolve", "--innodb-buffer-pool-size=64M",
            "--innodb-log-file-size=16M", "--max-connections=500",
        ], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not _ready(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the private MariaDB did not start; see {self.logs / 'mariadb.log'}")
            time.sleep(0.2)
        return self

    def stop(self, sig=signal.SIGKILL):
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        self.process.wait(timeout=120)

    def remove(self):
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
