"""What Lethe's DAGs share: the cluster jar, the configuration file, and a Lethe job as a
SparkSubmitOperator with Delta from Maven Central. Airflow puts the dags folder on sys.path, so
copy this file beside the DAGs."""
from airflow.models import Variable
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

LETHE_JAR = Variable.get("lethe_jar", "hdfs:///lethe/jars/lethe-jobs-0.1.0-SNAPSHOT-cluster.jar")
LETHE_CONF = Variable.get("lethe_conf", "/etc/lethe/lethe.properties")

SPARK_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.scheduler.mode": "FAIR",
}


def lethe_job(task_id, job_class, args, settings=None):
    """spark-submit of one Lethe job: --conf LETHE_CONF, then -D key=value per setting, then args."""
    overrides = []
    for key, value in (settings or {}).items():
        overrides += ["-D", key + "=" + value]
    return SparkSubmitOperator(
        task_id=task_id,
        conn_id="spark_default",
        application=LETHE_JAR,
        java_class=job_class,
        packages="io.delta:delta-spark_2.13:4.1.0",
        conf=SPARK_CONF,
        application_args=["--conf", LETHE_CONF] + overrides + args,
        name="lethe-" + task_id,
    )
