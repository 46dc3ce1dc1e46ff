"""RQ only: queue names, thin jobs and the one table of periodic jobs."""
