"""RQ only. ``workers.queues`` (layer 2) names the queues and enqueues jobs by name, so any layer may enqueue;
``workers.jobs`` (layer 12, an entry point) holds the thin jobs, builds the app in each worker and imports every
service; ``workers.schedule`` (layer 13) is the one table of periodic jobs."""
