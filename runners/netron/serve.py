"""Serve one model in the pinned Netron on 127.0.0.1, offline:

    <netron env python> -m runners.netron.serve MODEL [--port N] [--parent-pid PID]

prints `MMBROKER-NETRON|<url>` on stdout once serving, then serves until killed (or its parent
exits). Netron's own server (netron.server) does the work; the page it serves is changed in three
ways, each measured on netron 9.3.3 (tests/per_runner/test_vis_netron.py):

- its build date (`<meta name="date">`) is emptied. Netron's browser host shows a "Please update to
  the newest version." message, in a loop that never opens the model, once that date is more than
  180 days before the browser's clock (browser.js `age()`); a pinned copy would stop working half a
  year after its release. Without a date the host takes the browser's own "now", so the age is 0
  whatever the clocks say.
- `Content-Security-Policy: connect-src 'self'`: the page reaches only this server. Offline, Netron's
  calls out (a country lookup before its cookie notice, Google Analytics) fail anyway; with the policy
  they fail at once, and nothing about the user's models leaves the machine when online.
- the `consent` cookie its notice sets is sent with the page: the notice is about that telemetry,
  which cannot happen here, and it would block the view until clicked.
"""

import argparse
import re
import sys
import threading
import time


def pin_page(html):
    return re.sub(r'<meta name="date" content="[^"]*">', '<meta name="date" content="">', html)


def handler_class(base):
    class PinnedHandler(base):
        def _write(self, status_code, content_type, content):
            if content and content_type == "text/html":
                content = pin_page(content.decode("utf-8")).encode("utf-8")
            base._write(self, status_code, content_type, content)

        def end_headers(self):
            self.send_header("Content-Security-Policy", "connect-src 'self'")
            if urlpath(self.path) in ("/", "/index.html"):
                self.send_header("Set-Cookie", "consent=%d; Path=/; SameSite=Strict" % int(time.time() * 1000))
            base.end_headers(self)

    return PinnedHandler


def urlpath(path):
    return path.split("?", 1)[0].split("#", 1)[0]


def watch_parent(pid):
    import os

    def poll():
        while True:
            if os.getppid() != pid:
                os._exit(0)
            time.sleep(0.5)

    threading.Thread(target=poll, daemon=True).start()


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--parent-pid", type=int, default=0)
    args = p.parse_args(argv)
    if args.parent_pid:
        import signal

        from runners.common import lifetime

        lifetime.set_parent_death_signal(signal.SIGTERM)
        watch_parent(args.parent_pid)
    import logging

    from netron import server

    logging.basicConfig(level=logging.WARNING)
    server._HTTPRequestHandler = handler_class(server._HTTPRequestHandler)
    host, port = server.serve(args.model, address=("127.0.0.1", args.port), browse=False)
    sys.stdout.write("MMBROKER-NETRON|http://%s:%d/\n" % (host, port))
    sys.stdout.flush()
    server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
