"""An outbox sender that appends every text it sends to a file, so the drill can count how often each went out.

The drill starts its rq workers through ``python -m drill.textsender worker …``: this registers the sender in
``core.senders.SENDERS`` (as ``drill_file``) and then runs rq's own command line, whose work horses are forks
that inherit the registration. ``OUTBOX_SENDER=drill_file`` and ``DRILL_TEXTS_FILE`` select it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from core.outbox import OutgoingText
from core.senders import SENDERS

NAME = "drill_file"


class FileSender:
    """Appends ``{"id", "recipient", "body"}`` as one line per text: one write(2) with O_APPEND, so lines never mix."""

    name = NAME

    def __init__(self) -> None:
        self.path = os.environ["DRILL_TEXTS_FILE"]

    def send(self, text: OutgoingText) -> None:
        line = json.dumps({"id": text.id, "recipient": text.recipient, "body": text.body}, ensure_ascii=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def file_sender(config: Mapping[str, Any]) -> FileSender:
    return FileSender()


def register() -> None:
    SENDERS[NAME] = file_sender


def main() -> None:
    register()
    # The drill's stack passes `-w workers.worker.IuranWorker`: the app is built once, before the work horses fork.
    from rq.cli import main as rq_main

    sys.argv[0] = "rq"
    rq_main()


if __name__ == "__main__":
    main()
