"""A small WebSocket client (RFC 6455) for bench/run, in the standard library.

Enough for the chat's /ws: the opening handshake, masked text frames from the
client, unmasked frames from the server, a pong for every ping, and the
closing handshake. Many sockets are watched at once by a `Group` (selectors),
in one thread:

    group = Group()
    ws = WebSocket.connect("127.0.0.1", 5001, "/ws")
    group.add(ws)
    ws.send_text('{"event":"subscribe","data":{"user_id":1}}')
    for ws, text, at in group.poll(1.0):   # at = time.perf_counter() on arrival
        ...
    group.close_all()

No extensions (no compression), no fragmented sends; fragmented frames
received are put together.
"""

import base64
import hashlib
import os
import selectors
import socket
import struct
import time

# The key's answer is base64(sha1(key + this GUID)): RFC 6455, section 1.3.
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class WebSocketError(Exception):
    pass


def mask(payload, key):
    """XOR of each byte with the 4-byte key, repeated (RFC 6455, 5.3)."""
    if not payload:
        return b""
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(payload), "big")


def client_frame(opcode, payload):
    """One final frame, masked as every client frame must be."""
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    key = os.urandom(4)
    return head + key + mask(payload, key)


def parse_frame(buffer):
    """(fin, opcode, payload, bytes used) of the first frame in `buffer`, or
    None while it is incomplete. Server frames are not masked (but a masked
    one is read anyway)."""
    if len(buffer) < 2:
        return None
    b0, b1 = buffer[0], buffer[1]
    n, at = b1 & 0x7F, 2
    if n == 126:
        if len(buffer) < 4:
            return None
        n, at = struct.unpack_from("!H", buffer, 2)[0], 4
    elif n == 127:
        if len(buffer) < 10:
            return None
        n, at = struct.unpack_from("!Q", buffer, 2)[0], 10
    key = None
    if b1 & 0x80:
        if len(buffer) < at + 4:
            return None
        key, at = bytes(buffer[at:at + 4]), at + 4
    if len(buffer) < at + n:
        return None
    payload = bytes(buffer[at:at + n])
    if key:
        payload = mask(payload, key)
    return bool(b0 & 0x80), b0 & 0x0F, payload, at + n


class WebSocket:
    """One client connection. Create it with `WebSocket.connect`; it is then
    non-blocking, and `read()` hands out the text messages received."""

    def __init__(self, sock, leftover=b""):
        self.sock = sock
        self.buffer = bytearray(leftover)
        self.fragments = None  # (opcode, [parts]) of a fragmented message
        self.closed = False
        self.pings = 0

    @classmethod
    def connect(cls, host, port, path="/ws", timeout=5.0):
        """Opens the TCP connection and does the opening handshake (blocking,
        at most `timeout` seconds); raises WebSocketError if refused."""
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            key = base64.b64encode(os.urandom(16))
            sock.sendall(
                b"GET " + path.encode() + b" HTTP/1.1\r\n"
                b"Host: " + f"{host}:{port}".encode() + b"\r\n"
                b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: " + key + b"\r\n"
                b"Sec-WebSocket-Version: 13\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    raise WebSocketError("the server closed during the handshake")
                answer += chunk
                if len(answer) > 16384:
                    raise WebSocketError("handshake answer too long")
            head, _, leftover = answer.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            if not lines[0].startswith("HTTP/1.1 101"):
                raise WebSocketError(f"handshake refused: {lines[0]}")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            expected = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
            if headers.get("sec-websocket-accept") != expected:
                raise WebSocketError("wrong Sec-WebSocket-Accept in the handshake")
            sock.setblocking(False)
            return cls(sock, leftover)
        except BaseException:
            sock.close()
            raise

    def fileno(self):
        return self.sock.fileno()

    def send_frame(self, opcode, payload):
        # Small frames: sendall on a non-blocking socket finishes at once
        # unless the kernel's buffer is full, which a chat's frames never fill.
        self.sock.setblocking(True)
        try:
            self.sock.sendall(client_frame(opcode, payload))
        finally:
            self.sock.setblocking(False)

    def send_text(self, text):
        self.send_frame(TEXT, text.encode())

    def read(self):
        """Reads what has arrived; answers pings and closes; returns the
        complete text messages received (may be empty)."""
        messages = []
        while True:
            try:
                chunk = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.closed = True
                break
            if not chunk:
                self.closed = True
                break
            self.buffer += chunk
            if len(chunk) < 65536:
                break
        while True:
            frame = parse_frame(self.buffer)
            if frame is None:
                break
            fin, opcode, payload, used = frame
            del self.buffer[:used]
            if opcode == PING:
                self.pings += 1
                if not self.closed:
                    self.send_frame(PONG, payload)
            elif opcode == PONG:
                pass
            elif opcode == CLOSE:
                if not self.closed:
                    try:
                        self.send_frame(CLOSE, payload[:2])
                    except OSError:
                        pass
                self.closed = True
            elif opcode in (TEXT, BINARY) and fin:
                if opcode == TEXT:
                    messages.append(payload.decode())
            elif opcode in (TEXT, BINARY):
                self.fragments = (opcode, [payload])
            elif opcode == CONTINUATION and self.fragments:
                self.fragments[1].append(payload)
                if fin:
                    kind, parts = self.fragments
                    self.fragments = None
                    if kind == TEXT:
                        messages.append(b"".join(parts).decode())
        return messages

    def close(self):
        """Sends a close frame (1000, normal) and closes the socket without
        waiting for the server's answer."""
        if not self.closed:
            try:
                self.send_frame(CLOSE, struct.pack("!H", 1000))
            except OSError:
                pass
            self.closed = True
        self.sock.close()


class Group:
    """Many WebSockets (and other sockets) watched at once with selectors."""

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.sockets = []

    def add(self, ws):
        self.selector.register(ws.sock, selectors.EVENT_READ, ws)
        self.sockets.append(ws)

    def watch(self, sock, handler):
        """Another socket to watch: `handler(at)` is called when it is readable."""
        self.selector.register(sock, selectors.EVENT_READ, handler)

    def unwatch(self, sock):
        self.selector.unregister(sock)

    def poll(self, timeout):
        """Waits up to `timeout` seconds; returns [(ws, text, at)] for the
        text messages received, `at` being time.perf_counter() when the
        socket was read. Closed sockets are dropped from the group."""
        received = []
        for key, _ in self.selector.select(timeout):
            at = time.perf_counter()
            owner = key.data
            if isinstance(owner, WebSocket):
                for text in owner.read():
                    received.append((owner, text, at))
                if owner.closed:
                    self.selector.unregister(owner.sock)
                    self.sockets.remove(owner)
                    owner.sock.close()
            else:
                owner(at)
        return received

    def close_all(self):
        for ws in self.sockets:
            try:
                self.selector.unregister(ws.sock)
            except (KeyError, ValueError):
                pass
            ws.close()
        self.sockets = []
        self.selector.close()
