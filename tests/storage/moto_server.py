"""A moto S3 server on 127.0.0.1 and a free port, printed on the first line of stdout.

Run as a separate process by the ``s3_server`` fixture. Requests are served one at a time
(``threaded=False``, one request per connection): moto checks ``If-None-Match`` and then stores
the object in two steps, and serving one request at a time makes that check-and-put atomic, as it
is on S3 itself, so the concurrency tests test Wellspring and deltalake, not a race in the emulator.
"""

from __future__ import annotations

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


def main() -> None:
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=MotoRequestHandler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
