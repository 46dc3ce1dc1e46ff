"""gunicorn's settings for iuran's web app: `gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'`, as
deploy/iuran-web.service and the Procfile run it.

The environment tunes it (deploy/iuran.env.example): WEB_BIND (default 127.0.0.1:8000, or 0.0.0.0:$PORT where a
platform sets PORT), WEB_CONCURRENCY (worker processes, 4), WEB_THREADS (threads per worker, 4), FORWARDED_ALLOW_IPS
(the proxies whose X-Forwarded-Proto gunicorn believes, 127.0.0.1,::1). With PROMETHEUS_MULTIPROC_DIR set, the
folder is emptied when gunicorn starts and a dead worker's metrics are marked dead (METRICS_CHILD_EXIT).
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The metrics module's gunicorn hook: `module:function`, called with (server, worker) when a worker exits.
METRICS_CHILD_EXIT = "operations.metrics:child_exit"


def _bind() -> str:
    if os.environ.get("WEB_BIND"):
        return os.environ["WEB_BIND"]
    if os.environ.get("PORT"):  # Heroku-like platforms name the port to listen on
        return f"0.0.0.0:{os.environ['PORT']}"
    return "127.0.0.1:8000"


bind = [_bind()]
workers = int(os.environ.get("WEB_CONCURRENCY", 4))
# Threads: a client sending its body slowly holds one thread, not a whole worker (a buffering proxy in front still).
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", 4))
timeout = 30  # a worker silent this long is killed and replaced; long work belongs in RQ jobs
graceful_timeout = 20  # on a restart, requests in flight get this long to finish
keepalive = 5
max_requests = 10_000  # workers are replaced now and then, staggered, so a slow leak cannot grow for ever
max_requests_jitter = 1_000
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = None  # the app logs every request itself, as JSON with its request id (core/logs.py)
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
control_socket_disable = True  # gunicorn's control socket would go to ~/.gunicorn; systemd and signals suffice
proc_name = "iuran-web"


def on_starting(server: Any) -> None:
    """Before the workers fork: an empty PROMETHEUS_MULTIPROC_DIR, so no dead process's samples are served."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def metrics_child_exit() -> Callable[[Any, Any], None]:
    """The metrics module's hook (imported when first needed, so the config loads without the app)."""
    module, _, name = METRICS_CHILD_EXIT.partition(":")
    hook: Callable[[Any, Any], None] = getattr(importlib.import_module(module), name)
    return hook


def child_exit(server: Any, worker: Any) -> None:
    """A worker exited: its live gauges leave the multiprocess metrics (the metrics module does the work)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_child_exit()(server, worker)
