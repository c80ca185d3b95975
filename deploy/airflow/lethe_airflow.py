"""What Lethe's DAGs share: the cluster jar, the configuration file, the ledger key file, and a
Lethe job as a spark-submit task with Delta from Maven Central that Airflow retries only when Lethe
asks for it. Airflow puts the dags folder on sys.path, so copy this file beside the DAGs. Works
with Airflow 2.4+ and 3.x and apache-airflow-providers-apache-spark 4.1+.

The ledger key never passes through Airflow or Spark configuration: Lethe reads it from the file
at `lethe_ledger_key_file` (ledger.key-file), which only the jobs' user can read and which your
secret store writes (an HDFS file with 0400 permissions under Kerberos, or a Kubernetes secret
mounted in the driver). Only its path is here. The provider's `env_vars` would not do: on YARN and
Kubernetes it turns each variable into a Spark setting (spark.yarn.appMasterEnv.*,
spark.kubernetes.driverEnv.*), which the Spark UI shows.
"""
import re

from airflow.exceptions import AirflowException, AirflowFailException
from airflow.models import Variable
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

LETHE_JAR = Variable.get("lethe_jar", "hdfs:///lethe/jars/lethe-jobs-0.1.0-SNAPSHOT-cluster.jar")
LETHE_CONF = Variable.get("lethe_conf", "/etc/lethe/lethe.properties")
LETHE_KEY_FILE = Variable.get("lethe_ledger_key_file", "hdfs:///secure/lethe/ledger.key")

SPARK_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.scheduler.mode": "FAIR",
}

# Lethe's exit code for "run the same job again": a commit lost to a concurrent writer, a forget run
# stopped part-way. Every other failure (bad input 1, a crash 2, a missing store 3, a failed verify
# 5, overdue requests 6) needs a person, so the task fails at once whatever its retries say.
RUN_AGAIN = 4


class LetheSubmitOperator(SparkSubmitOperator):
    """spark-submit of one Lethe job; retried (up to the task's retries) only on exit code 4."""

    def execute(self, context):
        try:
            return super().execute(context)
        except AirflowFailException:
            raise
        except AirflowException as failure:
            # The provider's message ends "... Error code is: N." (spark-submit's exit code).
            code = re.search(r"Error code is: (\d+)", str(failure))
            if code and int(code.group(1)) == RUN_AGAIN:
                raise
            raise AirflowFailException(
                "lethe exited with code %s: not retried (only 4, run again, is)" % (code.group(1) if code else "?")
            ) from failure


def lethe_job(task_id, job_class, args, settings=None):
    """One Lethe job: --conf LETHE_CONF, the key file, then -D key=value per setting, then args."""
    overrides = ["-D", "ledger.key-file=" + LETHE_KEY_FILE]
    for key, value in (settings or {}).items():
        overrides += ["-D", key + "=" + value]
    return LetheSubmitOperator(
        task_id=task_id,
        conn_id="spark_default",
        application=LETHE_JAR,
        java_class=job_class,
        packages="io.delta:delta-spark_2.13:4.1.0",
        conf=SPARK_CONF,
        application_args=["--conf", LETHE_CONF] + overrides + args,
        name="lethe-" + task_id,
    )
