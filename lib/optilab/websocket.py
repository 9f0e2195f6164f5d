"""The kernel's websocket to the browser, sending each message at once (TCP_NODELAY).

An explorer's new figure is one websocket message from the Jupyter server to the browser. The
server's socket keeps Nagle's algorithm on (jupyter_server never calls tornado's
``set_nodelay``), so the last part of a message waits until the browser acknowledges the part
before it, and browsers delay an acknowledgement by up to 40 ms on Linux. Measured in Chromium
(``python -m bench --only explorers``), a frame sent from memory spent 42-44 ms in transfer
instead of about 10.

:class:`NoDelayKernelWebsocket` is jupyter_server's own kernel connection with no-delay turned
on as the connection opens, through the public setting ``ServerApp.kernel_websocket_connection_class``.
``python -m optilab.websocket install`` (run by ``make setup`` and Binder's postBuild) writes that
setting into this environment's Jupyter configuration; ``python -m optilab.websocket check`` says
whether a server started here would use it. ``tests/test_websocket.py`` checks the server's socket
of a real connection, and that jupyter_server's default still leaves the delay on (when it no longer
does, this module can go).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

#: The setting's value: this class, by its import path.
CLASS_PATH = "optilab.websocket.NoDelayKernelWebsocket"
#: The file ``install`` writes, in the environment's ``etc/jupyter`` (jupyter_server reads its settings
#: there; the ``jupyter_server_config.d`` folder beside it is read only for enabling extensions).
CONFIG_NAME = "jupyter_server_config.json"
SETTING = "kernel_websocket_connection_class"


class NoDelayKernelWebsocket(ZMQChannelsWebsocketConnection):
    """jupyter_server's kernel websocket connection, with Nagle's algorithm off."""

    def connect(self):
        # Called by the handler's open(), once the websocket handshake is done.
        self.websocket_handler.set_nodelay(True)
        return super().connect()


def config_file(prefix: str | Path | None = None) -> Path:
    """Where ``install`` writes the setting: the environment's Jupyter server configuration."""
    return Path(prefix or sys.prefix) / "etc" / "jupyter" / CONFIG_NAME


def install(prefix: str | Path | None = None) -> Path:
    """Add the setting to this environment's server configuration, keeping every other setting there."""
    path = config_file(prefix)
    settings = {}
    if path.exists():
        try:
            settings = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise SystemExit(f"{path} is not valid JSON ({error}); it was left as it is. Mend it or move it "
                             "away, then run: python -m optilab.websocket install") from None
        if not isinstance(settings, dict):
            raise SystemExit(f"{path} does not hold a JSON object; it was left as it is. Mend it or move it "
                             "away, then run: python -m optilab.websocket install")
    settings.setdefault("ServerApp", {})[SETTING] = CLASS_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")
    return path


def configured_class() -> str:
    """The connection class a Jupyter server started here is configured with ("" for its default)."""
    from jupyter_server.serverapp import ServerApp

    app = ServerApp()
    app.load_config_file()
    chosen = app.config.ServerApp.get(SETTING, "")
    return chosen if isinstance(chosen, str) else f"{chosen.__module__}.{chosen.__qualname__}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["install"]:
        print(f"kernel websockets send at once: wrote {install()}")
        return 0
    if argv[:1] == ["check"]:
        chosen = configured_class()
        if chosen == CLASS_PATH:
            print("Jupyter servers started here send kernel messages at once (TCP_NODELAY).")
            return 0
        print(f"Jupyter servers started here use {chosen or 'the default kernel connection'}: an explorer's "
              "figure can wait up to 40 ms more.\n"
              "Run: python -m optilab.websocket install", file=sys.stderr)
        return 1
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
