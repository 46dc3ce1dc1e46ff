"""The one table of periodic jobs, loaded by ``rq cron workers.schedule``.

Cron fields are read in the scheduler's local time zone; run it with TZ=UTC (scripts/run.py does)
so the table below means the same on every machine.

Any number of ``rq cron`` processes may run (one per host, say): each job is enqueued once per period, by the
scheduler that takes its Redis lock first (workers/cron_lock.py). The branches' nightly and evening jobs fan out
hourly to every branch whose run is due and not yet done (core/periodic.py): an hour that no scheduler ran is
caught up by the next.
"""

from __future__ import annotations

from rq import cron

from core import logs, settings
from workers import cron_lock, jobs
from workers.queues import DEFAULT, HIGH, LONG_JOB_TIMEOUT, LOW

logs.configure(settings.from_environment())  # `rq cron` logs as the app does (rq set up its own handler first)
cron_lock.install()  # before rq's scheduler turns the registrations below into jobs

cron.register(jobs.heartbeat, LOW, cron="*/5 * * * *")
# Texts are enqueued after each commit; this sweep catches any that were not (Redis was down, say).
cron.register(jobs.deliver_outbox, DEFAULT, cron="* * * * *", job_timeout=LONG_JOB_TIMEOUT)
# Agents holding cash past the deposit deadline or over the limit: the branch hears of it every morning
# (01:00 UTC is 08:00 WIB, 09:00 WITA) and again at midday.
cron.register(jobs.alert_blocked_agents, DEFAULT, cron="0 1,5 * * *")
# Debits: every morning (00:00 UTC is 07:00 WIB), one job per branch; each sends what is due that day.
cron.register(jobs.fan_out_debit_runs, DEFAULT, cron="0 0 * * *")
# Callbacks are processed right after they arrive; this sweep catches any whose job was not enqueued.
cron.register(jobs.process_webhook_events, HIGH, cron="* * * * *", job_timeout=LONG_JOB_TIMEOUT)
# Standings: every hour, the branches whose 01:00 local time has passed since their last reconciliation get it.
cron.register(jobs.fan_out_nightly_reconciliation, LOW, cron="5 * * * *")
# Daily batches: every hour, the branches whose 21:00 local time has passed since their last day end close that day.
cron.register(jobs.fan_out_day_end, DEFAULT, cron="10 * * * *")
# Remittance: every hour, the branches whose day has ended (21:40 local, after their batches) since their last file
# job get their file for the national system, written to the pick-up folder too.
cron.register(jobs.fan_out_remittance_files, DEFAULT, cron="40 * * * *")
# Sponsor programmes: every morning (23:30 UTC is 06:30 WIB), those whose last month has passed end, and their
# members hear that they pay themselves from now on.
cron.register(jobs.end_finished_programmes, DEFAULT, cron="30 23 * * *", job_timeout=LONG_JOB_TIMEOUT)
# Members' own charges the provider never reported on expire a quarter of an hour past their deadline.
cron.register(jobs.expire_self_charges, LOW, cron="7,22,37,52 * * * *")
# Inbound CEK texts are answered right after they arrive; this sweep catches any whose job was not enqueued.
cron.register(jobs.answer_texts, HIGH, cron="* * * * *")
# Inbound texts older than INBOUND_TEXTS_KEEP_DAYS (90 by default) go every night (22:15 UTC is 05:15 WIB).
cron.register(jobs.purge_inbound_texts, LOW, cron="15 22 * * *", job_timeout=LONG_JOB_TIMEOUT)
# Web sessions that ended a month ago: their rows go every night (22:00 UTC is 05:00 WIB).
cron.register(jobs.purge_web_sessions, LOW, cron="0 22 * * *")
# Agents with no transaction for 3 months: proposed for deactivation to their supervisors every morning
# (02:00 UTC is 09:00 WIB); a re-run proposes nobody twice.
cron.register(jobs.propose_idle_agent_deactivations, LOW, cron="0 2 * * *")
