"""An outbox sender that appends every text it sends to a file, so the drill can count how often each went out.

The drill starts its rq workers through ``python -m drill.textsender worker …``: this registers the sender in
``core.outbox.SENDERS`` (as ``drill_file``) and then runs rq's own command line, whose work horses are forks
that inherit the registration. ``OUTBOX_SENDER=drill_file`` and ``DRILL_TEXTS_FILE`` select it.
"""

from __future__ import annotations

import json
import os
import sys

NAME = "drill_file"


class FileSender:
    """Appends ``{"recipient", "body"}`` as one line per text: one write(2) with O_APPEND, so lines never mix."""

    name = NAME

    def __init__(self) -> None:
        self.path = os.environ["DRILL_TEXTS_FILE"]

    def send(self, recipient: str, body: str) -> None:
        line = json.dumps({"recipient": recipient, "body": body}, ensure_ascii=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def register() -> None:
    from core.outbox import SENDERS

    SENDERS[NAME] = FileSender


def main() -> None:
    register()
    # The drill's stack passes `-w workers.worker.IuranWorker`: the app is built once, before the work horses fork.
    from rq.cli import main as rq_main

    sys.argv[0] = "rq"
    rq_main()


if __name__ == "__main__":
    main()
