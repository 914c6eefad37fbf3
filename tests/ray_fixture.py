"""A real two-node Ray cluster on this machine for the tests: `ray start --head` on 127.0.0.1 plus a second node
started as its own process, each with 1 CPU, in a private temp dir on a free port. Stopped by pid: only the
processes of this cluster are ended (`ray stop` would end every Ray on the machine, other users' too)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# HOME: Ray reads ~/.ray/auth_token when it exists (a local ray.init elsewhere on the machine leaves one), and a
# cluster started with it refuses a node without it. The cluster and its drivers get a home of their own.
RAY_HOME = Path(tempfile.gettempdir()) / "medanon-ray-home"
ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DISABLE_DOCKER_CPU_WARNING": "1", "HOME": str(RAY_HOME)}
NODE_ARGS = ["--num-cpus", "1", "--num-gpus", "0", "--object-store-memory", str(100 * 1024 * 1024),
             "--disable-usage-stats"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


@dataclass
class RayCluster:
    temp_dir: Path
    port: int = field(default_factory=_free_port)
    started: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _ray(self, *args: str) -> None:
        RAY_HOME.mkdir(exist_ok=True)
        r = subprocess.run(["ray", "start", *args], capture_output=True, text=True, timeout=180,
                           env={**os.environ, **ENV})
        if r.returncode != 0:
            raise RuntimeError(f"ray start {' '.join(args)} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")

    def start(self) -> None:
        self._ray("--head", "--node-ip-address", "127.0.0.1", "--port", str(self.port), "--temp-dir",
                  str(self.temp_dir), "--include-dashboard", "false", *NODE_ARGS)
        self._ray("--address", self.address, "--node-ip-address", "127.0.0.1", *NODE_ARGS)  # the second node

    def _is_ours(self, pid: int) -> bool:
        cmd = _cmdline(pid)
        return str(self.temp_dir) in cmd or f"127.0.0.1:{self.port}" in cmd or f"--gcs-address=127.0.0.1:{self.port}" in cmd

    def pids(self) -> list[int]:
        """Every process of this cluster: those naming its temp dir or port, and their descendants."""
        all_pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
        ours = {p for p in all_pids if p != os.getpid() and self._is_ours(p)}
        grew = True
        while grew:
            grew = False
            for p in all_pids:
                if p not in ours and _ppid(p) in ours:
                    ours.add(p)
                    grew = True
        return sorted(ours)

    def actor_pids(self, name: str = "FileWorker") -> list[int]:
        return [p for p in self.pids() if _cmdline(p).startswith(f"ray::{name}")]

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.pids()
            for p in pids:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
            deadline = time.time() + 10
            while time.time() < deadline and any(Path(f"/proc/{p}").exists() and _cmdline(p) for p in pids):
                time.sleep(0.2)
        left = self.pids()
        assert not left, f"Ray processes left running: {left}"


@pytest.fixture(scope="module")
def ray_cluster():
    if shutil.which("ray") is None:
        pytest.fail("ray is not installed: run scripts/install.sh dev (the 'ray' extra)")
    cluster = RayCluster(Path(tempfile.mkdtemp(prefix="mr-", dir="/tmp")))  # short: Ray's socket paths are capped
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.temp_dir, ignore_errors=True)
