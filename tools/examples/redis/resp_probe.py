#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Raw-protocol checks of a Redis-protocol server, for redis-test.sh.

resp_probe.py PORT CHECK [ARGS]; CHECK is one of
  pipeline N   N requests of every kind in one write; every reply in order
  inline       inline requests, mixed with multibulk ones
  bad          malformed requests: each gets -ERR Protocol error and the
               connection closes, or (garbage that parses) an error
               reply; the server answers a new connection after each
  midcmd       clients that go away in the middle of a request leave
               nothing behind, and other clients' requests are untouched
  binary       keys and values with every byte value, CR and LF included
Exit status 0 when the check holds; what failed goes to stderr.
"""
import os
import random
import socket
import sys

HOST = "127.0.0.1"


class Client:
    def __init__(self, port, timeout=120):
        self.s = socket.create_connection((HOST, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        d = self.s.recv(1 << 16)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        """One reply: bytes, int, None, ('err', msg), ('ok', status), list."""
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return ("ok", rest.decode())
        if t == b"-":
            return ("err", rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v
        if t == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise ValueError("bad reply line %r" % line)

    def closed(self):
        """True if the server closes the connection (after its replies)."""
        try:
            while True:
                d = self.s.recv(1 << 16)
                if not d:
                    return True
                self.buf += d
        except ConnectionResetError:
            return True		# closed with our bytes unread
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def req(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def call(port, *args):
    c = Client(port)
    c.send(req(*args))
    r = c.reply()
    c.close()
    return r


def fail(msg):
    sys.stderr.write("resp_probe: %s\n" % msg)
    sys.exit(1)


def expect(got, want, what):
    if got != want:
        fail("%s: got %r, want %r" % (what, got, want))


def check_pipeline(port, n):
    tag = os.urandom(4).hex()
    c = Client(port)
    data, want = [], []
    for i in range(n):
        k = "pipe:%s:%d" % (tag, i)
        v = "v%d-%s" % (i, "x" * (i % 200))
        data += [req("SET", k, v), req("GET", k), req("INCR", "pipe:%s:n" % tag),
                 req("EXISTS", k, k), req("PING")]
        want += [("ok", "OK"), v.encode(), i + 1, 2, ("ok", "PONG")]
        if i % 7 == 0:
            data.append(req("DEL", k))
            want.append(1)
            data.append(req("GET", k))
            want.append(None)
    c.send(b"".join(data))
    for i, w in enumerate(want):
        expect(c.reply(), w, "pipelined reply %d" % i)
    c.close()


def check_inline(port):
    tag = os.urandom(4).hex()
    c = Client(port)
    c.send(b"PING\r\nSET il:%s 42\r\n  INCR   il:%s \r\n\r\nGET il:%s\n" %
           ((tag.encode(),) * 3) + req("GET", "il:" + tag) + b"ping hi\r\n")
    for w in [("ok", "PONG"), ("ok", "OK"), 43, b"43", b"43", b"hi"]:
        expect(c.reply(), w, "inline reply")
    c.close()


def check_bad(port):
    big = b"x" * (70 << 10)
    cases = [
        (b"*1\r\n$-5\r\n", "negative bulk length"),
        (b"*1\r\n$abc\r\n", "bulk length not a number"),
        (b"*1\r\n$99999999999\r\n", "bulk length too big"),
        (b"*99999999\r\n", "multibulk count too big"),
        (b"*2x\r\n", "multibulk count not a number"),
        (b"*1\r\nGET\r\n", "no $ before an argument"),
        (b"*1\r\n$3\r\nGETxx", "argument not followed by CRLF"),
        (b"*" + b"9" * 40, "multibulk header without CRLF"),
        (b"*1\r\n$" + b"1" * 40, "bulk header without CRLF"),
        (big, "inline request without a newline"),
        (b"*1\r\n$+3\r\nGET\r\n", "bulk length with a sign"),
        (b"*1\r\n$03\r\nGET\r\n", "bulk length with a leading zero"),
    ]
    for data, what in cases:
        c = Client(port, timeout=30)
        try:
            c.send(data)
        except OSError:
            pass		# the server may close before it has read all
        try:
            r = c.reply()
        except (EOFError, OSError) as e:
            fail("%s: no error reply (%s)" % (what, e))
        if not (isinstance(r, tuple) and r[0] == "err" and
                r[1].startswith("ERR Protocol error")):
            fail("%s: got %r, want a protocol error" % (what, r))
        if not c.closed():
            fail("%s: the connection stayed open" % what)
        c.close()
        expect(call(port, "PING"), ("ok", "PONG"), "PING after " + what)
    # errors that keep the connection
    c = Client(port)
    c.send(req("NOSUCH", "a") + req("GET") + req("SET", "k") +
           req("SET", "b:k", "v", "EX") + req("INCRBY", "b:n", "1x") +
           req("SPIN", "-1") + req("SPIN", "99999999999") +
           req("CONFIG", "SET", "a", "b") + b"*0\r\n*-1\r\n" + req("PING"))
    for what in ["unknown command", "GET arity", "SET arity", "SET option",
                 "INCRBY not an integer", "SPIN negative", "SPIN too long",
                 "CONFIG SET"]:
        r = c.reply()
        if not (isinstance(r, tuple) and r[0] == "err"):
            fail("%s: got %r, want an error" % (what, r))
    expect(c.reply(), ("ok", "PONG"), "PING after command errors")
    c.close()
    # random garbage: whatever it gets, the server lives
    rnd = random.Random(int.from_bytes(os.urandom(4), "little"))
    for i in range(200):
        c = Client(port, timeout=10)
        n = rnd.randrange(1, 4096)
        head = rnd.choice([b"*", b"$", b"", b"*3\r\n$", b"*1\r\n$4\r\n"])
        try:
            c.send(head + bytes(rnd.randrange(256) for _ in range(n)))
            c.s.shutdown(socket.SHUT_WR)
            c.closed()
        except OSError:
            pass
        c.close()
    expect(call(port, "PING"), ("ok", "PONG"), "PING after random garbage")


def check_midcmd(port):
    tag = os.urandom(4).hex()
    key = "mid:" + tag
    full = req("SET", key, "y" * 1000) + req("INCR", key + ":n")
    other = Client(port)
    other.send(req("SET", key + ":o", "kept") + req("GET", key + ":o")[:10])
    # every prefix of the two requests, each on a connection that then goes
    for cut in list(range(1, 40)) + list(range(40, len(full) - 1, 97)):
        c = Client(port)
        c.send(full[:cut])
        c.close()
    first = len(req("SET", key, "y" * 1000))
    for cut in list(range(first + 1, len(full))):
        c = Client(port)
        c.send(full[:cut])
        c.close()
    # the other client finishes its request: its state is intact
    other.send(req("GET", key + ":o")[10:])
    expect(other.reply(), ("ok", "OK"), "the other client's SET")
    expect(other.reply(), b"kept", "the other client's GET")
    other.close()
    # the cut-off INCRs never ran; the SETs that came whole did
    expect(call(port, "GET", key + ":n"), None, "a cut-off INCR ran")
    expect(call(port, "GET", key), b"y" * 1000, "the whole SETs")


def check_binary(port):
    tag = os.urandom(4).hex().encode()
    c = Client(port)
    key = b"bin:\r\n\x00" + tag + bytes(range(256))
    val = bytes(range(256)) * 64 + b"\r\n*1\r\n$3\r\n"
    c.send(req(b"SET", key, val) + req(b"GET", key) + req(b"GET", key[:-1]))
    expect(c.reply(), ("ok", "OK"), "SET binary")
    expect(c.reply(), val, "GET binary")
    expect(c.reply(), None, "GET of another key")
    c.close()


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        sys.exit(2)
    port, check = int(sys.argv[1]), sys.argv[2]
    if check == "pipeline":
        check_pipeline(port, int(sys.argv[3]))
    elif check == "inline":
        check_inline(port)
    elif check == "bad":
        check_bad(port)
    elif check == "midcmd":
        check_midcmd(port)
    elif check == "binary":
        check_binary(port)
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
