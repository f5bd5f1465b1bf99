"""A TCP proxy between the storage clients and the S3 server that can cut the network on demand.

A real network fault, not a mock: while the proxy is cut, every open connection is reset (RST)
and every new one is accepted and reset at once, as a crashed load balancer or a dropped route
does. ``cut_on(b"/reservoir/")`` cuts it at the first request whose bytes contain the marker, so
a fault lands at a chosen point of a run (e.g. the reservoir commit), not at a random time.

The proxy runs in its own process (:class:`ProxyProcess` starts it and sends it commands on
stdin): deltalake holds the GIL during some blocking calls, so a proxy thread inside the test
process would stall exactly when it has traffic to forward.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

_STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP RST instead of a clean FIN (SO_LINGER with a zero timeout).

    ``shutdown(SHUT_RD)`` first wakes the pump thread blocked in ``recv`` on it: the kernel keeps a
    socket open while a call is in progress, so without it the RST would wait for that call."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        sock.close()


class FlakyProxy:
    """Forward 127.0.0.1:<port> to ``127.0.0.1:target``; :meth:`cut` and :meth:`restore` the link."""

    def __init__(self, target: int) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._down = False
        self._marker: bytes | None = None
        self._answer_marker: bytes | None = None  # forward the request, lose its answer
        self._restore_after: float | None = None
        self.connections = 0
        self.statuses: Counter[int] = Counter()  # HTTP status of each response that went through
        self.refused = 0
        self.cuts = 0
        self.cut_at: float | None = None
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_down(self) -> bool:
        return self._down

    def cut(self, for_s: float | None = None) -> None:
        """Reset every open connection and refuse new ones (for ``for_s`` seconds, else until restored)."""
        with self._lock:
            self._down = True
            self.cuts += 1
            self.cut_at = time.monotonic()
            victims, self._open = self._open, set()
        for sock in victims:
            _reset(sock)
        if for_s is not None:
            timer = threading.Timer(for_s, self.restore)
            timer.daemon = True
            timer.start()

    def cut_on(self, marker: bytes, for_s: float | None = None) -> None:
        """Cut the link when a request containing ``marker`` passes (that request is lost too)."""
        self._marker, self._restore_after = marker, for_s

    def cut_after(self, marker: bytes, for_s: float | None = None) -> None:
        """Let the request containing ``marker`` reach the server, then cut the link before its
        answer gets back: the write happened, and the client cannot know it."""
        self._answer_marker, self._restore_after = marker, for_s

    def restore(self) -> None:
        with self._lock:
            self._down = False

    def close(self) -> None:
        self._closing = True
        self.cut()
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                down = self._down
            if down:
                self.refused += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=10)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            link = {"lose_answer": False}
            threading.Thread(target=self._pump, args=(client, upstream, True, link), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False, link), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool, link: dict[str, bool]) -> None:
        first = True
        try:
            while True:
                data = source.recv(1 << 16)
                if not data:
                    break
                if from_client and self._marker is not None and self._marker in data:
                    self._marker = None
                    self.cut(self._restore_after)
                    return
                if from_client and self._answer_marker is not None and self._answer_marker in data:
                    self._answer_marker = None
                    link["lose_answer"] = True
                if not from_client and link["lose_answer"]:
                    self.cut(self._restore_after)
                    return
                if first and not from_client and (status := _STATUS.match(data)):
                    with self._lock:
                        self.statuses[int(status.group(1))] += 1
                first = False
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()


def serve(target: int) -> None:
    """The proxy process: print the port, then obey one command per stdin line, answering each
    with one JSON line (``cut [seconds]``, ``cut_on MARKER [seconds]``, ``cut_after MARKER [seconds]``, ``restore``, ``stats``)."""
    proxy = FlakyProxy(target)
    print(proxy.port, flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "cut":
            proxy.cut(float(args[0]) if args else None)
        elif command == "cut_on":
            proxy.cut_on(args[0].encode(), float(args[1]) if len(args) > 1 else None)
        elif command == "cut_after":
            proxy.cut_after(args[0].encode(), float(args[1]) if len(args) > 1 else None)
        elif command == "restore":
            proxy.restore()
        stats = {"down": proxy.is_down, "cuts": proxy.cuts, "connections": proxy.connections, "refused": proxy.refused}
        print(json.dumps({**stats, "statuses": {str(k): v for k, v in proxy.statuses.items()}}), flush=True)
    proxy.close()


class ProxyProcess:
    """A :class:`FlakyProxy` in a child process, driven from the test."""

    def __init__(self, target: int) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, str(Path(__file__)), str(target)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        self.port = int(self._proc.stdout.readline())

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _send(self, command: str) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self._proc.stdout.readline())
        return answer

    def cut(self, for_s: float | None = None) -> None:
        self._send(f"cut {for_s}" if for_s is not None else "cut")

    def cut_on(self, marker: str, for_s: float | None = None) -> None:
        self._send(f"cut_on {marker} {for_s}" if for_s is not None else f"cut_on {marker}")

    def cut_after(self, marker: str, for_s: float | None = None) -> None:
        self._send(f"cut_after {marker} {for_s}" if for_s is not None else f"cut_after {marker}")

    def restore(self) -> None:
        self._send("restore")

    def stats(self) -> dict[str, Any]:
        return self._send("stats")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self._proc.stdin:
                self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
