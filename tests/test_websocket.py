"""The kernel's websocket sends each message at once: checked on the server's socket of a real connection.

A Jupyter server is started as ``make start`` starts it (this environment's configuration), a kernel
is started and a websocket opened to it, and the server's end of that websocket is read with
``pidfd_getfd`` (Linux >= 5.6): TCP_NODELAY must be on. The same with jupyter_server's default
connection class shows the delay is still upstream's default, so optilab.websocket is still needed.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from optilab import websocket

pytestmark = pytest.mark.slow

TOKEN = "optilab-websocket-test"
DEFAULT_CLASS = "jupyter_server.services.kernels.connection.channels.ZMQChannelsWebsocketConnection"
SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _api(port: int, path: str, method: str = "GET", body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read() or b"{}")


def _socket_inode(local_port: int, remote_port: int) -> str:
    """The inode of the loopback TCP socket from local_port to remote_port, from /proc/net/tcp."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
            if (local, remote) == (local_port, remote_port):
                return fields[9]
    raise AssertionError(f"no TCP socket from port {local_port} to {remote_port} in /proc/net/tcp")


def _nodelay_of_servers_end(server_pid: int, server_port: int, client_port: int) -> int:
    """TCP_NODELAY on the server's end of the connection, read from the server process itself."""
    inode = _socket_inode(server_port, client_port)
    fd_dir = Path(f"/proc/{server_pid}/fd")
    target = next(int(fd.name) for fd in fd_dir.iterdir() if os.readlink(fd) == f"socket:[{inode}]")
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(server_pid)
    try:
        copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, target, 0)
        if copy < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd on the server's socket")
    finally:
        os.close(pidfd)
    with socket.socket(fileno=copy) as servers_end:
        return servers_end.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


async def _kernel_websocket_roundtrip(port: int, kernel_id: str):
    """Open the kernel's websocket, ask for kernel_info and wait for the reply; return the open connection."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"
    connection = await websocket_connect(HTTPRequest(
        url, headers={"Authorization": f"token {TOKEN}"}, connect_timeout=30, request_timeout=60))
    msg_id = uuid.uuid4().hex
    await connection.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "kernel_info_request", "username": "test",
                   "session": uuid.uuid4().hex, "date": "", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "content": {}, "channel": "shell", "buffers": []}))
    while True:
        message = await asyncio.wait_for(connection.read_message(), 60)
        assert message is not None, "the server closed the kernel's websocket"
        if isinstance(message, str) and json.loads(message).get("parent_header", {}).get("msg_id") == msg_id:
            return connection


def _servers_nodelay(tmp_path: Path, *extra: str) -> int:
    """Start a Jupyter server (this environment's configuration plus `extra`), open a kernel's websocket,
    and read TCP_NODELAY on the server's end of it."""
    port = _free_port()
    log = (tmp_path / f"server-{port}.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={tmp_path}", "--allow-root", *extra],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        for _ in range(600):  # up to a minute for the server to answer
            try:
                _api(port, "/api/status")
                break
            except OSError:
                assert server.poll() is None, (tmp_path / f"server-{port}.log").read_text()
                time.sleep(0.1)
        kernel_id = _api(port, "/api/kernels", "POST", {"name": "python3"})["id"]

        async def measure() -> int:
            connection = await _kernel_websocket_roundtrip(port, kernel_id)
            client_port = connection.protocol.stream.socket.getsockname()[1]
            try:
                return _nodelay_of_servers_end(server.pid, port, client_port)
            finally:
                connection.close()

        nodelay = asyncio.run(measure())
        _api(port, f"/api/kernels/{kernel_id}", "DELETE")
        return nodelay
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def test_this_environment_configures_the_no_delay_connection():
    assert websocket.configured_class() == websocket.CLASS_PATH, "run: python -m optilab.websocket install"


def test_the_kernels_websocket_sends_at_once(tmp_path):
    assert _servers_nodelay(tmp_path) == 1


def test_jupyter_servers_default_still_delays_small_messages(tmp_path):
    """When this fails, jupyter_server sends at once by itself: optilab.websocket can go."""
    assert _servers_nodelay(tmp_path, f"--ServerApp.kernel_websocket_connection_class={DEFAULT_CLASS}") == 0


def test_install_keeps_the_other_settings_and_refuses_a_broken_file(tmp_path):
    path = websocket.config_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"ServerApp": {"port": 9999}, "LabApp": {"collaborative": False}}))
    websocket.install(tmp_path)
    assert json.loads(path.read_text()) == {
        "ServerApp": {"port": 9999, "kernel_websocket_connection_class": websocket.CLASS_PATH},
        "LabApp": {"collaborative": False}}
    path.write_text("{not json")
    with pytest.raises(SystemExit, match="not valid JSON.*left as it is"):
        websocket.install(tmp_path)
    assert path.read_text() == "{not json"
