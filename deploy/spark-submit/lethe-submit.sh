#!/usr/bin/env bash
# Submits one Lethe job to a Spark cluster with the cluster jar. Usage:
#   deploy/spark-submit/lethe-submit.sh <job> [job options]     e.g.  ... forget --ids-file hdfs:///requests/today.txt
# Environment:
#   SPARK_HOME     the cluster's Spark 4.1 (Scala 2.13) installation (spark-submit is taken from it)
#   LETHE_JAR      the cluster jar (default: jobs/target/lethe-jobs-0.1.0-SNAPSHOT-cluster.jar)
#   LETHE_CONF     a lethe.properties reachable by the driver (passed with --conf)
#   SPARK_MASTER   yarn, k8s://..., spark://host:7077 (default: yarn)
#   DEPLOY_MODE    client or cluster (default: cluster)
# The ledger key: pass -D ledger.key-file=PATH (a file only the job's user can read), never --conf
# spark.yarn.appMasterEnv.*, which puts it in Spark's configuration (see docs/cluster.md).
set -euo pipefail
job="${1:?usage: lethe-submit.sh <ingest|train|forget|purge|score|status|verify> [options]}"
shift
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
jar="${LETHE_JAR:-$here/jobs/target/lethe-jobs-0.1.0-SNAPSHOT-cluster.jar}"
case "$job" in
  ingest) class=io.lethe.jobs.IngestJob ;;
  train) class=io.lethe.jobs.TrainJob ;;
  forget) class=io.lethe.jobs.ForgetJob ;;
  purge) class=io.lethe.jobs.PurgeJob ;;
  score) class=io.lethe.jobs.ScoreJob ;;
  status) class=io.lethe.jobs.StatusJob ;;
  verify) class=io.lethe.jobs.VerifyJob ;;
  *) echo "lethe-submit.sh: unknown job '$job'" >&2; exit 2 ;;
esac
conf_args=()
[ -n "${LETHE_CONF:-}" ] && conf_args=(--conf "$LETHE_CONF")

exec "${SPARK_HOME:?set SPARK_HOME}/bin/spark-submit" \
  --master "${SPARK_MASTER:-yarn}" \
  --deploy-mode "${DEPLOY_MODE:-cluster}" \
  --class "$class" \
  --packages io.delta:delta-spark_2.13:4.1.0 \
  --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension \
  --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog \
  --conf spark.scheduler.mode=FAIR \
  "$jar" "${conf_args[@]}" "$@"
