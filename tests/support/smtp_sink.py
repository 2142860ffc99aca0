"""SMTP sink for the mail outbox tests: a real SMTP server (aiosmtpd) that
saves each accepted message to a directory.

Usage: smtp_sink.py --port PORT --dir DIR [--tempfail N] [--reject]
                     [--tls-cert PEM --tls-key PEM [--implicit-tls]]
                     [--auth USER:PASSWORD]

Each accepted message is written as DIR/NNNN.eml (the DATA as received) with
DIR/NNNN.json beside it (envelope sender and recipients, whether the
session was encrypted, the authenticated user), each written to a
temporary name and renamed so a reader never sees a partial file.

--tempfail N  answer the first N DATA commands with
              "451 4.7.0 Temporary failure, try again later"
--reject      answer every RCPT TO with "550 5.1.1 Mailbox unknown"
--tls-cert/--tls-key
              offer STARTTLS with this certificate and refuse mail before it
--implicit-tls
              speak TLS from the first byte instead (SMTPS, RFC 8314)
--auth U:P    require SMTP AUTH (PLAIN/LOGIN) with these credentials

Prints "READY <port>" on stdout once it listens (the bound port, so PORT
may be 0); stops on SIGTERM/SIGINT.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, directory, tempfail, reject):
        self.directory = directory
        self.tempfail = tempfail
        self.reject = reject
        self.count = 0
        self.data_commands = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject:
            return "550 5.1.1 Mailbox unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        if self.data_commands <= self.tempfail:
            return "451 4.7.0 Temporary failure, try again later"
        self.count += 1
        base = os.path.join(self.directory, "%04d" % self.count)
        self._write(base + ".eml", envelope.original_content or envelope.content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "auth_user": session.auth_data.login.decode() if session.auth_data else None,
        }
        self._write(base + ".json", json.dumps(meta).encode())
        return "250 2.0.0 Saved as %04d" % self.count

    @staticmethod
    def _write(path, data):
        if isinstance(data, str):
            data = data.encode()
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)


async def main():
    # Refused handshakes and failed logins are what some tests provoke; keep
    # aiosmtpd's tracebacks and deprecation notes out of the test output.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore", DeprecationWarning)
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tempfail", type=int, default=0)
    parser.add_argument("--reject", action="store_true")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--auth")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)

    authenticator = None
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            # handled=False: aiosmtpd then answers 535 itself on failure.
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def factory():
        options = dict(hostname="sink.test", decode_data=False)
        if context is not None and not args.implicit_tls:
            options.update(tls_context=context, require_starttls=True)
        if authenticator is not None:
            options.update(authenticator=authenticator, auth_required=True)
            if args.implicit_tls:
                # The whole connection is TLS; aiosmtpd only knows STARTTLS
                # and would warn about AUTH without it.
                options.update(auth_require_tls=False)
                warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
        return SMTP(handler, **options)

    handler = Sink(args.dir, args.tempfail, args.reject)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory,
        host=args.host,
        port=args.port,
        reuse_address=True,
        ssl=context if args.implicit_tls else None,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # With --port 0 the system picks the port: say which.
    print("READY %d" % server.sockets[0].getsockname()[1], flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
