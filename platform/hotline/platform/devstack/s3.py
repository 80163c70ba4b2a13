"""The local S3 stand-in: moto's server, in a child process, on a free port.

moto keeps objects in memory, so :meth:`S3Server.stop` saves every bucket to
``data_dir`` (``manifest.json`` plus content-addressed ``objects/<sha256>``) and
:meth:`S3Server.start` puts them back. The server runs in its own process because
moto's state is global to a process: two stacks in one process (tests) would share it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import TypedDict

from minio import Minio

STOP_TIMEOUT = 10.0
_META_PREFIX = "x-amz-meta-"

# Prints the port it bound, serves until its stdin closes (our stop, or our death).
_SERVER = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""


class _Object(TypedDict):
    key: str
    file: str
    content_type: str
    metadata: dict[str, str]


class S3Server:
    """moto's S3 on ``127.0.0.1:<free port>``; persisted to ``data_dir`` unless it is None."""

    def __init__(
        self,
        data_dir: Path | None,
        *,
        log: Path,
        access_key: str,
        secret_key: str,
        region: str,
    ) -> None:
        self.data_dir = data_dir
        self.log = log
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self._process: subprocess.Popen[bytes] | None = None
        self._port = 0

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def pid(self) -> int | None:
        """The server process (fault tests pause it)."""
        return self._process.pid if self._process is not None else None

    def client(self) -> Minio:
        return Minio(
            f"127.0.0.1:{self._port}",
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            secure=False,
        )

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            # Its own session: Ctrl-C must not kill it before the stack has saved the objects.
            process = subprocess.Popen(
                [sys.executable, "-c", _SERVER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        self._process = process
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"the S3 server (moto) did not start; see {self.log}")
            self._port = int(line)
            if self.data_dir is not None:
                restore(self.client(), self.data_dir)
        except BaseException:
            self._close()
            raise

    def stop(self) -> None:
        if self._process is None:
            return
        try:
            if self.data_dir is not None:
                save(self.client(), self.data_dir)
        finally:
            self._close()

    def _close(self) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        try:
            process.communicate(timeout=STOP_TIMEOUT)  # closes stdin: the server returns
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def save(client: Minio, data_dir: Path) -> None:
    """Write every bucket and object (body, content type, user metadata) under ``data_dir``."""
    objects = data_dir / "objects"
    objects.mkdir(parents=True, exist_ok=True)
    part = objects / "download.part"
    manifest: dict[str, list[_Object]] = {}
    for bucket in client.list_buckets():
        entries = manifest[bucket.name] = []
        for item in client.list_objects(bucket.name, recursive=True):
            assert item.object_name is not None
            stat = client.fget_object(bucket.name, item.object_name, str(part))
            with part.open("rb") as body:
                digest = hashlib.file_digest(body, "sha256").hexdigest()
            part.replace(objects / digest)
            metadata = {
                key[len(_META_PREFIX) :]: value
                for key, value in (stat.metadata or {}).items()
                if key.lower().startswith(_META_PREFIX)
            }
            entries.append(
                {
                    "key": item.object_name,
                    "file": digest,
                    "content_type": stat.content_type or "application/octet-stream",
                    "metadata": metadata,
                }
            )
    # The manifest is replaced in one step; only then are unreferenced bodies removed.
    new_manifest = data_dir / "manifest.json.new"
    new_manifest.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    new_manifest.replace(data_dir / "manifest.json")
    used = {entry["file"] for entries in manifest.values() for entry in entries}
    for path in objects.iterdir():
        if path.name not in used:
            path.unlink()


def restore(client: Minio, data_dir: Path) -> None:
    """Create the buckets and put the objects that :func:`save` wrote."""
    manifest_path = data_dir / "manifest.json"
    if not manifest_path.exists():
        return
    manifest: dict[str, list[_Object]] = json.loads(manifest_path.read_text(encoding="utf-8"))
    for bucket, entries in manifest.items():
        client.make_bucket(bucket)
        for entry in entries:
            client.fput_object(
                bucket,
                entry["key"],
                str(data_dir / "objects" / entry["file"]),
                content_type=entry["content_type"],
                metadata=dict(entry["metadata"]),
            )
