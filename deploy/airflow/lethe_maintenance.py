"""Lethe's maintenance for Apache Airflow: the purge job and a status report.

The forget run rewrites the hit shards at once, but with purge.retention-hours = 24 (the default)
VACUUM may only remove the old files a day later: those requests wait as purge-pending. This DAG
runs `lethe purge` every six hours, which completes them, then `lethe status --fail-on-overdue`,
whose JSON run summary (stored under runs.path) lists what is still open; it fails the task (exit
6, not retried) when a request is past its deadline, so Airflow's alerting tells someone.
"""
from datetime import datetime, timedelta

from airflow import DAG
from lethe_airflow import lethe_job


def lethe(task_id, job_class, args):
    return lethe_job(task_id, job_class, args)


with DAG(
    dag_id="lethe_maintenance",
    description="Purge what forget runs left for after the retention, and report open requests",
    start_date=datetime(2026, 1, 1),
    schedule=timedelta(hours=6),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=15)},
    tags=["lethe", "privacy"],
) as dag:
    lethe("purge", "io.lethe.jobs.PurgeJob", []) >> lethe("status", "io.lethe.jobs.StatusJob", ["--fail-on-overdue"])
