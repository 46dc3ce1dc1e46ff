"""Settings for ``rq worker -c workers.rq_settings`` (and ``rq worker-pool``): the app's logging is set up before
rq would set up its own, so the worker's own lines and its jobs' lines are one stream in one format."""

from __future__ import annotations

from core import logs, settings

logs.configure(settings.from_environment())
