"""Lethe's daily forget cycle for Apache Airflow (2.x or 3.x), with spark-submit.

collect_requests -> forget -> verify -> publish_report

- collect_requests gathers the day's forget requests (text files, one id per line, dropped under
  {requests_dir}/{ds}/ by the system that receives them) into one id file, with the Hadoop CLI; on
  a day without requests it skips the rest of the run.
- forget runs `lethe forget --ids-file` on it: ledger, delete, retrain of the hit shards, publish,
  retire, purge. With the default retention (24 hours) its requests wait for the purge, which the
  maintenance DAG runs. A try that exits 4 (run again) is retried and finishes the same requests
  (the ledger makes it idempotent); any other failure fails the task at once.
- verify runs `lethe verify` on the batch the forget wrote (the latest). It passes when the only
  open step is the purge, due within the VACUUM retention and before every deadline (the report says
  when), and fails the task when a check fails or a deadline is at risk.
- publish_report copies the verify report (JSON and HTML) to the audit location.

Copy lethe_airflow.py beside this file. Set the Airflow Variables used here and there, a Spark
connection (`spark_default`: master yarn, k8s://... or spark://...), and the ledger key file
(`lethe_ledger_key_file`, see lethe_airflow.py). Needs apache-airflow-providers-apache-spark, and on
Airflow 3 the standard provider (BashOperator).
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable

try:  # Airflow 3 (the standard provider); Airflow 2
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:
    from airflow.operators.bash import BashOperator

from lethe_airflow import lethe_job

REQUESTS_DIR = Variable.get("lethe_requests_dir", "hdfs:///lethe/requests")
VERIFY_DIR = Variable.get("lethe_verify_dir", "hdfs:///lethe/verify")
AUDIT_DIR = Variable.get("lethe_audit_dir", "hdfs:///audit/lethe")
BATCH_FILE = REQUESTS_DIR + "/batches/{{ ds }}.txt"


def lethe(task_id, job_class, args):
    return lethe_job(task_id, job_class, args, {"verify.path": VERIFY_DIR})


with DAG(
    dag_id="lethe_daily_forget",
    description="Forget the day's requests from data and model, verify, publish the audit report",
    start_date=datetime(2026, 1, 1),
    schedule="@daily",
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
    tags=["lethe", "privacy"],
) as dag:
    collect_requests = BashOperator(
        task_id="collect_requests",
        bash_command=(
            "set -euo pipefail; "
            "hdfs dfs -mkdir -p " + REQUESTS_DIR + "/batches; "
            "(hdfs dfs -cat '" + REQUESTS_DIR + "/{{ ds }}/*.txt' 2>/dev/null || true) "
            "| hdfs dfs -put -f - " + BATCH_FILE + "; "
            # No requests today: exit 99 skips this task and the rest of the run.
            "[ \"$(hdfs dfs -cat " + BATCH_FILE + " | grep -c . || true)\" != 0 ] || exit 99"
        ),
    )
    forget = lethe("forget", "io.lethe.jobs.ForgetJob", ["--ids-file", BATCH_FILE, "--ids-format", "text"])
    verify = lethe("verify", "io.lethe.jobs.VerifyJob", [])
    publish_report = BashOperator(
        task_id="publish_report",
        bash_command=(
            "set -euo pipefail; "
            "hdfs dfs -mkdir -p " + AUDIT_DIR + "/{{ ds }}; "
            "hdfs dfs -cp -f '" + VERIFY_DIR + "/verify-*' " + AUDIT_DIR + "/{{ ds }}/"
        ),
    )
    collect_requests >> forget >> verify >> publish_report
