"""Lethe's maintenance for Apache Airflow: the purge job and a status report.

The forget run rewrites the hit shards at once, but with purge.retention-hours = 24 (the default)
VACUUM may only remove the old files a day later: those requests wait as purge-pending. This DAG
runs `lethe purge` every six hours, which completes them, then `lethe status`, whose JSON run
summary (stored under runs.path) lists what is still open and overdue.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

LETHE_JAR = Variable.get("lethe_jar", "hdfs:///lethe/jars/lethe-jobs-0.1.0-SNAPSHOT-cluster.jar")
LETHE_CONF = Variable.get("lethe_conf", "/etc/lethe/lethe.properties")

SPARK_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def lethe(task_id, job_class, args):
    return SparkSubmitOperator(
        task_id=task_id,
        conn_id="spark_default",
        application=LETHE_JAR,
        java_class=job_class,
        packages="io.delta:delta-spark_2.13:4.1.0",
        conf=SPARK_CONF,
        application_args=["--conf", LETHE_CONF] + args,
        name="lethe-" + task_id,
    )


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
    lethe("purge", "io.lethe.jobs.PurgeJob", []) >> lethe("status", "io.lethe.jobs.StatusJob", [])
