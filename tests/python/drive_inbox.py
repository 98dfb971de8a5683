#!/usr/bin/env python3
"""Drive a full-screen program through a real pseudo-terminal, for gate's tests.

Usage: drive_inbox.py PROGRAM [ARG...]

Starts PROGRAM on a new 80x24 pty (environment inherited) and renders what it
draws with the pyte terminal emulator. The test steers it with one JSON object per
line on stdin and reads one JSON answer per line on stdout:

  {"op": "wait", "text": T, "timeout": S}  until T is on screen -> {"ok": bool, "screen"}
  {"op": "gone", "text": T, "timeout": S}  until T is off screen -> {"ok": bool, "screen"}
  {"op": "send", "keys": K}                type K (escape sequences allowed) -> {"ok": true}
  {"op": "exit", "timeout": S}             wait for the exit -> {"ok", "code", "restored",
                                           "cursor_shown", "colour", "screen"}

"restored" says the program left the alternate screen (ESC [?1049l) after it last
entered it. Output is read continuously, so the program never blocks on a full pty.
"""

import fcntl
import json
import os
import pty
import re
import select
import struct
import sys
import termios
import time

import pyte

COLUMNS, ROWS = 80, 24


def start(argv):
    pid, master = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    return pid, master


class Terminal:
    def __init__(self, argv):
        self.pid, self.master = start(argv)
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = b""
        self.status = None

    def pump(self, timeout):
        """Read what the program wrote within `timeout` seconds; False at EOF."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the program closed the terminal
            return False
        if not data:
            return False
        self.raw += data
        self.stream.feed(data)
        return True

    def text(self):
        return "\n".join(line.rstrip() for line in self.screen.display)

    def until(self, done, timeout):
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if not self.pump(min(left, 0.05)):
                return done()
        return True

    def send(self, keys):
        os.write(self.master, keys.encode())

    def exit(self, timeout):
        deadline = time.monotonic() + timeout
        while self.status is None and time.monotonic() < deadline:
            alive = self.pump(0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
            elif not alive:
                time.sleep(0.01)
        while self.pump(0):
            if not select.select([self.master], [], [], 0)[0]:
                break
        if self.status is None:
            return {"ok": False, "screen": self.text()}
        entered = self.raw.rfind(b"\x1b[?1049h")
        left = self.raw.rfind(b"\x1b[?1049l")
        return {
            "ok": True,
            "code": os.waitstatus_to_exitcode(self.status),
            "restored": left > entered >= 0,
            "cursor_shown": self.raw.rfind(b"\x1b[?25h") > self.raw.rfind(b"\x1b[?25l"),
            "colour": re.search(rb"\x1b\[(?:3[0-7]|9[0-7]|38;[0-9;]*)m", self.raw) is not None,
            "screen": self.text(),
        }


def answer(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    term = Terminal(sys.argv[1:])
    commands = sys.stdin
    while True:
        # Keep draining the program's output while the test decides what to do next.
        ready, _, _ = select.select([commands, term.master], [], [])
        if term.master in ready and commands not in ready:
            if not term.pump(0):
                select.select([commands], [], [])
            continue
        line = commands.readline()
        if not line:
            return
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "wait":
            ok = term.until(lambda: cmd["text"] in term.text(), cmd["timeout"])
            answer({"ok": ok, "screen": term.text()})
        elif op == "gone":
            ok = term.until(lambda: cmd["text"] not in term.text(), cmd["timeout"])
            answer({"ok": ok, "screen": term.text()})
        elif op == "send":
            term.send(cmd["keys"])
            answer({"ok": True})
        elif op == "exit":
            answer(term.exit(cmd["timeout"]))
        else:
            answer({"ok": False, "error": "unknown op " + op})


if __name__ == "__main__":
    main()
