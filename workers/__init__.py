"""RQ only. ``workers.queues`` (layer 2) names the queues and enqueues jobs by name, so any layer may enqueue;
``workers.jobs`` (layer 13, an entry point) holds the thin jobs, builds the app in each worker and imports every
service; ``workers.schedule`` (layer 14) is the one table of periodic jobs."""
