"""The WebSocket clients of bench/run --websocket, on the `websockets` package
(PyPI: python3 -m pip install websockets).

Many sockets at once, in one thread of their own: an asyncio event loop that
reads every socket as frames arrive and stamps each text message with
time.perf_counter() there and then, so the time of arrival does not depend on
when the caller gets round to looking. The caller's thread stays synchronous
(it sends its POSTs with plain blocking HTTP meanwhile):

    group = Group()
    ws = group.connect("127.0.0.1", 5001, "/ws")
    group.send_text(ws, '{"event":"subscribe","data":{"user_id":1}}')
    for ws, text, at in group.poll(1.0):   # at = time.perf_counter() on arrival
        ...
    group.close_all()

As the step's own pages do: no compression, no pings of our own (the server
pings, `websockets` answers), a pong for every ping.
"""

import asyncio
import queue
import threading
import time

try:
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import ConnectionClosed
    from websockets.frames import Opcode
    from websockets.version import version
except ImportError as e:  # bench/run says so in one line (--dry-run, --websocket)
    raise ImportError(f"{e}: the WebSocket part needs the Python package websockets "
                      "(13 or later): python3 -m pip install websockets") from e

WEBSOCKETS_VERSION = version  # shown by bench/run --dry-run
CLOSE_TIMEOUT = 2.0  # seconds to wait for the server's answer to our close


class CountingConnection(ClientConnection):
    """A client connection that counts the server's pings (`websockets` answers
    them by itself): the bench records that the step's heartbeat was answered."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pings = 0

    def process_event(self, event):
        # The first event is the handshake's answer, not a frame.
        if getattr(event, "opcode", None) is Opcode.PING:
            self.pings += 1
        super().process_event(event)


class WebSocket:
    """One client connection of a Group."""

    def __init__(self, conn):
        self.conn = conn
        self.closed = False

    @property
    def pings(self):
        return self.conn.pings


class Group:
    """Many WebSockets on one event loop in a thread of its own; what arrives
    is handed to the caller's thread by `poll`."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.arrived = queue.Queue()  # (ws, text or None when it closed, at)
        self.sockets = []

    def run(self, coroutine, timeout):
        """Runs a coroutine on the group's loop; its result (blocking)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def connect(self, host, port, path="/ws", timeout=5.0, headers=None):
        """Opens a connection and does the opening handshake (at most `timeout`
        seconds), sending `headers` too (a dict: a session's Cookie); raises
        what `websockets` raises if refused."""
        async def opened():
            conn = await connect(f"ws://{host}:{port}{path}", compression=None,
                                 additional_headers=headers,
                                 ping_interval=None, open_timeout=timeout,
                                 close_timeout=CLOSE_TIMEOUT,
                                 create_connection=CountingConnection)
            ws = WebSocket(conn)
            self.loop.create_task(self.read(ws))
            return ws
        ws = self.run(opened(), timeout + 1)
        self.sockets.append(ws)
        return ws

    async def read(self, ws):
        try:
            async for text in ws.conn:
                self.arrived.put((ws, text, time.perf_counter()))
        except ConnectionClosed:
            pass
        self.arrived.put((ws, None, time.perf_counter()))

    def send_text(self, ws, text, timeout=5.0):
        self.run(ws.conn.send(text), timeout)

    def poll(self, timeout):
        """Waits up to `timeout` seconds for something to arrive; returns
        [(ws, text, at)] for the text messages received since the last poll,
        `at` being time.perf_counter() when the socket was read. Closed
        sockets are dropped from the group."""
        received = []
        try:
            item = self.arrived.get(timeout=timeout)
            while True:
                ws, text, at = item
                if text is None:
                    ws.closed = True
                    if ws in self.sockets:
                        self.sockets.remove(ws)
                elif isinstance(text, str):  # binary messages: none expected, ignored
                    received.append(item)
                item = self.arrived.get_nowait()
        except queue.Empty:
            pass
        return received

    def close_all(self):
        """Closes every connection (the closing handshake, at most
        CLOSE_TIMEOUT each, all at once) and stops the loop, with whatever
        else runs on it; the group is then done."""
        if self.loop.is_closed():
            return

        async def closed(conns):
            await asyncio.gather(*(conn.close() for conn in conns), return_exceptions=True)
        try:
            self.run(closed([ws.conn for ws in self.sockets]), CLOSE_TIMEOUT + 5)
        finally:
            self.sockets = []
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            self.loop.close()


def selftest():
    """Problems found without a step: a server of `websockets`' own on a free
    loopback port pings a Group's socket and sends it two messages, one of
    70,000 bytes; they must arrive, the ping be answered and counted."""
    from websockets.asyncio.server import serve

    async def handler(conn):
        await conn.ping()
        for text in ["hello", "x" * 70_000]:
            await conn.send(text)
        await conn.wait_closed()

    group = Group()
    problems = []
    try:
        async def started():
            return await serve(handler, "127.0.0.1", 0, compression=None)
        server = group.run(started(), 5)
        port = server.sockets[0].getsockname()[1]
        ws = group.connect("127.0.0.1", port, "/")
        texts, deadline = [], time.monotonic() + 5
        while len(texts) < 2 and time.monotonic() < deadline:
            texts += [text for _, text, _ in group.poll(0.2)]
        if texts != ["hello", "x" * 70_000]:
            problems.append(f"bench/wsclient.py: a loopback server's 2 messages arrived as "
                            f"{len(texts)} ({[len(t) for t in texts]} characters)")
        if ws.pings != 1:
            problems.append(f"bench/wsclient.py: {ws.pings} pings counted of 1")
        group.close_all()
        if not ws.closed and group.sockets:
            problems.append("bench/wsclient.py: a socket still open after close_all()")
    except Exception as e:
        problems.append(f"bench/wsclient.py: loopback test failed: {type(e).__name__}: {e}")
    finally:
        group.close_all()
    return problems
