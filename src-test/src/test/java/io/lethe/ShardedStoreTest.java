package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.countDistinct;
import static org.apache.spark.sql.functions.lit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.delta.tables.DeltaTable;
import io.lethe.demo.AdultData;
import io.lethe.internal.run.DeltaCommits;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.KernelEngine;
import io.lethe.internal.store.CommitRetry;
import io.lethe.internal.store.RequestedIds;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.store.SourceSpec;
import io.lethe.internal.store.StoreSample;
import io.lethe.types.IngestResult;
import io.lethe.types.PurgeResult;
import io.lethe.types.StoreLayout;
import io.lethe.types.Task;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardedStoreTest extends LetheTestBase {
  @TempDir
  Path dir;

  /** 600 Adult rows owned by 150 subjects, four rows each. */
  private static Dataset<Row> multiRowSubjects() {
    return adultTrain(600).withColumn(AdultData.SUBJECT, col(AdultData.SUBJECT).mod(150));
  }

  @Test
  void allRowsOfASubjectLandInOneShardAndTheLayoutIsRecorded() {
    LetheConfig config = adultConfig(4, dir, Map.of());
    IngestResult result = ShardedStore.ingest(spark(), config.get(LetheConfig.STORE_PATH), multiRowSubjects(), config, false);
    ShardedStore store = ShardedStore.open(spark(), config.get(LetheConfig.STORE_PATH));

    assertThat(result.created()).isTrue();
    assertThat(result.rows()).isEqualTo(600);
    assertThat(result.rowsPerShard()).hasSize(4);
    long subjectsInTwoShards = store.read(result.version()).groupBy(AdultData.SUBJECT)
        .agg(countDistinct(StoreLayout.SHARD_COLUMN).as("n")).where(col("n").gt(1)).count();
    assertThat(subjectsInTwoShards).as("subjects whose rows span shards").isZero();

    StoreLayout layout = store.layout();
    assertThat(layout.shards()).isEqualTo(4);
    assertThat(layout.subjectColumn()).isEqualTo(AdultData.SUBJECT);
    assertThat(layout.task()).isEqualTo(Task.CLASSIFICATION);
    assertThat(layout.labelClasses()).containsExactly("<=50K", ">50K");
    assertThat(layout.numericFeatures()).contains("age", "hours_per_week").doesNotContain(AdultData.SUBJECT);
    assertThat(layout.categoricalFeatures()).contains("education", "native_country").doesNotContain(AdultData.LABEL);
    Map<String, String> props = DeltaTable.forPath(spark(), store.path()).detail().select("properties").head().getJavaMap(0);
    assertThat(props).containsEntry("delta.enableChangeDataFeed", "true")
        .containsEntry("delta.enableDeletionVectors", "true")
        .containsEntry("lethe.shards", "4")
        .containsEntry("lethe.salt", "lethe-tests");
    assertThat(DeltaTable.forPath(spark(), store.path()).detail().select("partitionColumns").head().getList(0))
        .containsExactly(StoreLayout.SHARD_COLUMN);
  }

  @Test
  void shardAssignmentIsStableAcrossStoresAndAppends() {
    LetheConfig a = adultConfig(4, dir.resolve("a"), Map.of());
    LetheConfig b = adultConfig(4, dir.resolve("b"), Map.of());
    Dataset<Row> all = multiRowSubjects();
    ShardedStore.ingest(spark(), a.get(LetheConfig.STORE_PATH), all, a, false);
    // Store b gets the first half, then the rest appended.
    ShardedStore.ingest(spark(), b.get(LetheConfig.STORE_PATH), adultTrain(300).withColumn(AdultData.SUBJECT,
        col(AdultData.SUBJECT).mod(150)), b, false);
    ShardedStore storeB = ShardedStore.open(spark(), b.get(LetheConfig.STORE_PATH));
    long before = storeB.currentVersion();
    Dataset<Row> rest = adultTrain(600).where(col(AdultData.SUBJECT).geq(300))
        .withColumn(AdultData.SUBJECT, col(AdultData.SUBJECT).mod(150));
    IngestResult appended = ShardedStore.ingest(spark(), b.get(LetheConfig.STORE_PATH), rest, b, true);

    assertThat(appended.created()).isFalse();
    assertThat(appended.rows()).isEqualTo(300);
    Dataset<Row> shardsA = ShardedStore.open(spark(), a.get(LetheConfig.STORE_PATH)).read(0)
        .select(col(AdultData.SUBJECT), col(StoreLayout.SHARD_COLUMN).as("a")).distinct();
    Dataset<Row> shardsB = storeB.read(storeB.currentVersion())
        .select(col(AdultData.SUBJECT), col(StoreLayout.SHARD_COLUMN).as("b")).distinct();
    Dataset<Row> joined = shardsA.join(shardsB, AdultData.SUBJECT);
    assertThat(joined.count()).isEqualTo(150);
    assertThat(joined.where(col("a").notEqual(col("b"))).count()).as("subjects placed differently").isZero();
    assertThat(storeB.shardsChangedSince(before)).as("shards the append touched")
        .containsExactlyInAnyOrderElementsOf(appended.rowsPerShard().keySet());
  }

  @Test
  void anAppendOfTheSameFilesRunAgainLandsOnce() throws Exception {
    LetheConfig c = adultConfig(4, dir.resolve("once"), Map.of());
    ShardedStore.ingest(spark(), c.get(LetheConfig.STORE_PATH), adultTrain(200), c, false);
    java.nio.file.Path source = dir.resolve("once-source");
    adultTrain(300).where(col(AdultData.SUBJECT).geq(200)).coalesce(1).write().parquet(source.toString());
    List<String> args = new java.util.ArrayList<>(List.of("ingest", "--append", "--source", source.toString(),
        "--format", "parquet"));
    for (String key : List.of(LetheConfig.STORE_PATH, LetheConfig.MODELS_PATH, LetheConfig.RUNS_PATH,
        LetheConfig.LEDGER_PATH)) {
      args.addAll(List.of("-D", key + "=" + c.get(key)));
    }
    Run first = runLethe(args);
    assertThat(first.code()).as(first.err()).isZero();
    assertThat(first.summary().path("outputs").path("rows").asLong()).isEqualTo(100);
    // Run again (as after a crash that hid whether the first landed): Delta skips the same transaction.
    Run again = runLethe(args);
    assertThat(again.code()).as(again.err()).isZero();
    assertThat(again.summary().path("outputs").path("rows").asLong()).as("rows appended the second time").isZero();
    ShardedStore store = ShardedStore.open(spark(), c.get(LetheConfig.STORE_PATH));
    assertThat(store.read(store.currentVersion()).count()).isEqualTo(300);
    // Other files are another append.
    java.nio.file.Path more = dir.resolve("once-more");
    adultTrain(320).where(col(AdultData.SUBJECT).geq(300)).coalesce(1).write().parquet(more.toString());
    args.set(3, more.toString());
    assertThat(runLethe(args).summary().path("outputs").path("rows").asLong()).isEqualTo(20);
    assertThat(store.read(store.currentVersion()).count()).isEqualTo(320);
  }

  private long changeDataFiles(ShardedStore store) {
    java.io.File dir = new java.io.File(java.net.URI.create(store.path()).getPath(), "_change_data");
    if (!dir.exists()) {
      return 0;
    }
    try (var walk = java.nio.file.Files.walk(dir.toPath())) {
      return walk.filter(p -> p.toString().endsWith(".parquet")).count() > 0 ? 1 : 0;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void theShardOfASubjectComputedInTheDriverIsTheOneSparkComputes() {
    StoreLayout layout = new StoreLayout(16, "subject", "salt-\u00e9", "label", Task.CLASSIFICATION,
        List.of("a", "b"), List.of("x"), List.of());
    List<String> ids = new java.util.ArrayList<>();
    for (int i = 0; i < 500; i++) {
      ids.add(Integer.toString(i * 7919 - 1000));
      ids.add("person-" + i + "-\u00fc\u4e2d");
    }
    ids.add("");
    List<Row> bySpark = spark().createDataset(ids, org.apache.spark.sql.Encoders.STRING()).toDF("subject")
        .select(col("subject"), layout.shardOf(col("subject"))).collectAsList();
    assertThat(bySpark).hasSize(ids.size());
    java.util.Set<Integer> seen = new java.util.TreeSet<>();
    for (Row r : bySpark) {
      assertThat(layout.shardOf(r.getString(0))).as("shard of id %d", bySpark.indexOf(r)).isEqualTo(r.getInt(1));
      seen.add(r.getInt(1));
    }
    assertThat(seen).as("every shard is used").hasSize(16);
  }

  @Test
  void theIdTestOfAWholeNumberColumnKeepsTheRowsItsStringTestKeeps() {
    Dataset<Row> values = spark().range(-3, 20).selectExpr("id", "cast(id as int) as small", "cast(id as string) as text");
    List<String> ids = List.of("12", "012", "+7", "-2", "x", "", "9999999999999999999", "3.0");
    for (String column : List.of("id", "small", "text")) {
      var type = values.schema().apply(column).dataType();
      List<Long> typed = values.where(RequestedIds.test(ids, col(column), type)).select("id").as(
          org.apache.spark.sql.Encoders.LONG()).collectAsList();
      List<Long> asText = values.where(RequestedIds.test(ids, col(column))).select("id").as(
          org.apache.spark.sql.Encoders.LONG()).collectAsList();
      assertThat(typed).as("column %s", column).containsExactlyInAnyOrder(12L, -2L).isEqualTo(asText);
    }
  }

  @Test
  void theDeleteRewritesTheFilesHoldingTheRowsOrHidesThemBehindDeletionVectors() {
    Dataset<Row> rows = multiRowSubjects();
    for (boolean rewrite : List.of(true, false)) {
      LetheConfig config = adultConfig(4, dir.resolve("delete-" + rewrite), Map.of());
      ShardedStore.ingest(spark(), config.get(LetheConfig.STORE_PATH), rows, config, false);
      ShardedStore store = ShardedStore.open(spark(), config.get(LetheConfig.STORE_PATH));
      List<String> ids = List.of("7", "42");
      Set<Integer> shards = store.shardsOf(ids);
      // The DELETE runs in a session of this test's own: the session settings it changes for its
      // time (its queries run interpreted; here the session generates code) are checked after it.
      org.apache.spark.sql.SparkSession own = spark().newSession();
      String setting = "spark.databricks.delta.delete.deletionVectors.persistent";
      String before = own.conf().get(setting);
      Map<String, String> codegen = Map.of("spark.sql.codegen.factoryMode", "FALLBACK",
          "spark.sql.codegen.wholeStage", "true", "spark.databricks.delta.snapshotPartitions", "3");
      codegen.forEach(own.conf()::set);
      long version = ShardedStore.open(own, store.path()).deleteMatching(AdultData.SUBJECT, ids, shards,
          new CommitRetry(3), rewrite);
      codegen.forEach((k, v) -> assertThat(own.conf().get(k)).as(k).isEqualTo(v));

      assertThat(store.read(version).where(col(AdultData.SUBJECT).isin(7, 42)).count()).isZero();
      assertThat(store.read(version).count()).isEqualTo(600 - 8);
      // The file count the commands' settings go by: the version's checksum, as Delta lists the files.
      assertThat(DeltaCommits.filesInChecksum(new HadoopFiles(spark().sparkContext().hadoopConfiguration()),
          new org.apache.hadoop.fs.Path(store.path()), version)).hasValue(store.read(version).inputFiles().length);
      // The Parquet files of the new version, read raw (deletion vectors ignored).
      long inCurrentFiles = 0;
      for (String file : store.read(version).inputFiles()) {
        inCurrentFiles += spark().read().parquet(file).where(col(AdultData.SUBJECT).isin(7, 42)).count();
      }
      assertThat(inCurrentFiles).as("rows in the current files, rewrite-files=%s", rewrite).isEqualTo(rewrite ? 0 : 8);
      assertThat(own.conf().get(setting)).as("the session setting is restored").isEqualTo(before);
      // The log records the delete's predicate: the id test's name, never an id.
      JsonNode commit = DeltaCommits.actions(new HadoopFiles(spark().sparkContext().hadoopConfiguration()), new org.apache.hadoop.fs.Path(store.path()), version).stream()
          .filter(a -> a.has("commitInfo")).findFirst().orElseThrow().path("commitInfo");
      assertThat(commit.path("operation").asText()).isEqualTo("DELETE");
      // Without Spark's expression ids (#123), which are numbers of the plan, not of the data.
      String predicate = commit.path("operationParameters").path("predicate").asText().replaceAll("#\\d+", "");
      assertThat(predicate).contains(RequestedIds.NAME).doesNotContain("42").doesNotContain("'7'");
      // Deletion vectors write no copy of the rows (no change data files); the change feed still
      // names the deleted rows, derived from the vectors.
      assertThat(changeDataFiles(store)).as("change data files, rewrite-files=%s", rewrite).isEqualTo(rewrite ? 1 : 0)
          .isLessThanOrEqualTo(1);
      assertThat(store.changes(version, version, shards).where(ShardedStore.removedByChange()).count()).isEqualTo(8);

      // The plan's match reads the id column with the deletion vectors applied: in the driver for a
      // small store, in one job of a few tasks for a large one, with the same answer.
      List<String> asked = List.of("7", "42", "8", "9", "149", "150");
      Map<String, Map<Integer, Long>> inDriver = store.match(AdultData.SUBJECT, asked, null, version);
      assertThat(inDriver).containsOnlyKeys("8", "9", "149");
      assertThat(inDriver.get("8")).containsExactly(Map.entry(store.layout().shardOf("8"), 4L));
      assertThat(store.matchInTasks(AdultData.SUBJECT, asked, null, version)).isEqualTo(inDriver);
      Set<Integer> eights = store.shardsOf(List.of("8"));
      assertThat(store.matchInTasks(AdultData.SUBJECT, asked, eights, version)).containsEntry("8", inDriver.get("8"))
          .allSatisfy((id, found) -> assertThat(found.keySet()).isSubsetOf(eights));

      // Lethe's Kernel engine reads Parquet itself (on the configuration it is given): the same
      // values and row positions as Kernel's own reader, file by file.
      readsTheSameAsKernel(store, version);

      // The purge REORGs only shards whose files carry deletion vectors.
      assertThat(store.filesWithDeletionVectors(shards) > 0).isEqualTo(!rewrite);
      PurgeResult purge = store.purge(shards, 0, new CommitRetry(3));
      assertThat(purge.reorgVersion() != null).as("REORG ran, rewrite-files=%s", rewrite).isEqualTo(!rewrite);
      assertThat(store.filesWithDeletionVectors(shards)).isZero();
      long afterPurge = 0;
      for (String file : store.read(store.currentVersion()).inputFiles()) {
        afterPurge += spark().read().parquet(file).where(col(AdultData.SUBJECT).isin(7, 42)).count();
      }
      assertThat(afterPurge).isZero();
    }
  }

  @Test
  void aSampleReadInTheDriverHoldsTheRowsSparkReadsAtTheVersion() {
    LetheConfig config = adultConfig(4, dir, Map.of());
    ShardedStore.ingest(spark(), config.get(LetheConfig.STORE_PATH), multiRowSubjects(), config, false);
    ShardedStore store = ShardedStore.open(spark(), config.get(LetheConfig.STORE_PATH));
    List<String> ids = List.of("7", "42");
    Set<Integer> shards = store.shardsOf(ids);
    long before = store.currentVersion();
    long deleted = store.deleteMatching(AdultData.SUBJECT, ids, shards, new CommitRetry(3), false);

    // Every row of the shards, deletion vectors applied: Spark's rows, of the same columns.
    Dataset<Row> spark = store.read(deleted).where(col(StoreLayout.SHARD_COLUMN).isin(shards.toArray()))
        .drop(StoreLayout.SHARD_COLUMN);
    StoreSample all = StoreSample.read(store, deleted, shards, null, null, 10_000, 1).orElseThrow();
    assertThat(all.count()).isEqualTo(spark.count()).isEqualTo(all.rows().count());
    assertThat(all.rows().schema().fieldNames()).containsExactly(spark.schema().fieldNames());
    assertThat(all.rows().except(spark).count()).isZero();
    assertThat(spark.except(all.rows()).count()).isZero();

    // The rows of the ids: the eight of the two people before the delete, none after it.
    StoreSample gone = StoreSample.read(store, before, shards, AdultData.SUBJECT, ids, 10_000, 1).orElseThrow();
    assertThat(gone.count()).isEqualTo(8);
    assertThat(gone.rows().select(col(AdultData.SUBJECT).cast("string")).distinct().collectAsList())
        .extracting(r -> r.getString(0)).containsExactlyInAnyOrder("7", "42");
    assertThat(StoreSample.read(store, deleted, shards, AdultData.SUBJECT, ids, 10_000, 1).orElseThrow().count())
        .isZero();

    // At most the size asked for, the same rows for the same seed, others for another.
    List<Row> ten = StoreSample.read(store, deleted, shards, null, null, 10, 3).orElseThrow().rows().collectAsList();
    assertThat(ten).hasSize(10)
        .isEqualTo(StoreSample.read(store, deleted, shards, null, null, 10, 3).orElseThrow().rows().collectAsList())
        .isNotEqualTo(StoreSample.read(store, deleted, shards, null, null, 10, 4).orElseThrow().rows().collectAsList());
    assertThat(spark().createDataFrame(ten, spark.schema()).except(spark).count()).isZero();

    // One read of the version before the delete (its next commit): the two samples, row for row
    // those of the ids before it and of every row after it, with the same seed and size.
    assertThat(deleted).isEqualTo(before + 1);
    for (int size : List.of(10_000, 10, 5)) {
      List<StoreSample> both = StoreSample.readSplit(store, before, shards, AdultData.SUBJECT, ids, size, 3)
          .orElseThrow();
      assertThat(both.get(0).rows().collectAsList()).as("the ids' rows, %d at most", size).isEqualTo(
          StoreSample.read(store, before, shards, AdultData.SUBJECT, ids, size, 3).orElseThrow().rows().collectAsList());
      assertThat(both.get(1).rows().collectAsList()).as("the others, %d at most", size).isEqualTo(
          StoreSample.read(store, deleted, shards, null, null, size, 3).orElseThrow().rows().collectAsList());
      assertThat(both.get(1).count()).isEqualTo(Math.min(size, spark.count()));
    }
  }

  @Test
  void aMissingColumnIsRefusedAndNothingIsWritten() {
    LetheConfig config = adultConfig(4, dir, Map.of(LetheConfig.STORE_SUBJECT_COLUMN, "customer"));
    assertThatThrownBy(() -> ShardedStore.ingest(spark(), config.get(LetheConfig.STORE_PATH), adultTrain(50), config, false))
        .isInstanceOf(LetheException.class)
        .hasMessageContaining("Column 'customer'")
        .hasMessageContaining("is not in the source");
    assertThat(Files.exists(dir.resolve("store"))).isFalse();
  }

  @Test
  void aNumericFeatureOfTextTypeIsRefused() {
    LetheConfig config = adultConfig(4, dir, Map.of(LetheConfig.STORE_NUMERIC, "age,education",
        LetheConfig.STORE_CATEGORICAL, "sex"));
    assertThatThrownBy(() -> ShardedStore.ingest(spark(), config.get(LetheConfig.STORE_PATH), adultTrain(50), config, false))
        .isInstanceOf(LetheException.class)
        .hasMessageContaining("numeric feature column 'education' has type string");
    assertThat(Files.exists(dir.resolve("store"))).isFalse();
  }

  @Test
  void anEmptySourceOrNullSubjectsWriteNothing() {
    LetheConfig config = adultConfig(4, dir, Map.of());
    String store = config.get(LetheConfig.STORE_PATH);
    assertThatThrownBy(() -> ShardedStore.ingest(spark(), store, adultTrain(50).where(lit(false)), config, false))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("no rows");
    Dataset<Row> nullSubjects = adultTrain(50).withColumn(AdultData.SUBJECT,
        org.apache.spark.sql.functions.when(col("age").gt(40), lit(null)).otherwise(col(AdultData.SUBJECT)));
    assertThatThrownBy(() -> ShardedStore.ingest(spark(), store, nullSubjects, config, false))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("have no subject id");
    assertThat(ShardedStore.exists(spark(), store)).isFalse();
  }

  @Test
  void anUnreadableSourceAndAMissingStoreAreClearErrors() {
    SourceSpec missing = new SourceSpec("parquet", dir.resolve("nowhere").toString(), Map.of(), List.of());
    assertThatThrownBy(() -> missing.read(spark()))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("Cannot read the parquet source");
    assertThatThrownBy(() -> ShardedStore.open(spark(), dir.resolve("nostore").toString()))
        .isInstanceOf(StoreNotFoundException.class).hasMessageContaining("No Lethe store");
  }

  @Test
  void aSecondIngestWithoutAppendIsRefusedAndAnUnknownClassOnAppendToo() {
    LetheConfig config = adultConfig(2, dir, Map.of());
    String store = config.get(LetheConfig.STORE_PATH);
    ShardedStore.ingest(spark(), store, adultTrain(100), config, false);
    long version = ShardedStore.open(spark(), store).currentVersion();
    assertThatThrownBy(() -> ShardedStore.ingest(spark(), store, adultTrain(100), config, false))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("use --append");
    Dataset<Row> newClass = adultTrain(10).withColumn(AdultData.LABEL, lit("unknown"));
    assertThatThrownBy(() -> ShardedStore.ingest(spark(), store, newClass, config, true))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("label value(s) the store does not know");
    assertThat(ShardedStore.open(spark(), store).currentVersion()).as("store version after refused writes").isEqualTo(version);
  }

  /** Every file of the version, read by Lethe's Kernel engine and by Kernel's default one: the same cells and row indexes. */
  private void readsTheSameAsKernel(ShardedStore store, long version) {
    org.apache.hadoop.conf.Configuration hadoop = spark().sparkContext().hadoopConfiguration();
    io.delta.kernel.engine.Engine lethe = KernelEngine.create(hadoop);
    io.delta.kernel.engine.Engine kernel = io.delta.kernel.defaults.engine.DefaultEngine.create(hadoop);
    io.delta.kernel.types.StructType schema = new io.delta.kernel.types.StructType();
    for (io.delta.kernel.types.StructField field : io.delta.kernel.Table.forPath(kernel, store.path())
        .getSnapshotAsOfVersion(kernel, version).getSchema().fields()) {
      if (!field.getName().equals(StoreLayout.SHARD_COLUMN)) { // a partition column: not in the files
        schema = schema.add(field);
      }
    }
    schema = schema.add(io.delta.kernel.types.StructField.METADATA_ROW_INDEX_COLUMN);
    long cells = 0;
    int skipped = 0;
    for (String file : store.read(version).inputFiles()) {
      org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(file);
      org.apache.hadoop.fs.FileStatus status;
      try {
        status = path.getFileSystem(hadoop).getFileStatus(path);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      io.delta.kernel.utils.FileStatus one = io.delta.kernel.utils.FileStatus.of(file, status.getLen(),
          status.getModificationTime());
      List<String> ours = cellsOf(lethe, one, schema, java.util.Optional.empty());
      assertThat(ours).as("cells of %s", file).isNotEmpty()
          .isEqualTo(cellsOf(kernel, one, schema, java.util.Optional.empty()));
      cells += ours.size();
      // A predicate goes to the row groups' statistics: the same groups skipped or read.
      for (long bound : List.of(-1L, 7L, 1_000_000L)) {
        java.util.Optional<io.delta.kernel.expressions.Predicate> over = java.util.Optional.of(
            new io.delta.kernel.expressions.Predicate(">", new io.delta.kernel.expressions.Column(AdultData.SUBJECT),
                io.delta.kernel.expressions.Literal.ofLong(bound)));
        List<String> pushed = cellsOf(lethe, one, schema, over);
        assertThat(pushed).as("cells of %s over %s", file, bound).isEqualTo(cellsOf(kernel, one, schema, over));
        skipped += pushed.isEmpty() ? 1 : 0;
      }
    }
    assertThat(cells).as("cells read").isGreaterThan(0);
    assertThat(skipped).as("files whose row groups a predicate ruled out").isGreaterThan(0);
  }

  private static List<String> cellsOf(io.delta.kernel.engine.Engine engine, io.delta.kernel.utils.FileStatus file,
      io.delta.kernel.types.StructType schema, java.util.Optional<io.delta.kernel.expressions.Predicate> predicate) {
    List<String> out = new java.util.ArrayList<>();
    try (io.delta.kernel.utils.CloseableIterator<io.delta.kernel.data.ColumnarBatch> batches = engine
        .getParquetHandler().readParquetFiles(io.lethe.internal.run.LogTable.single(file),
            schema, predicate)) {
      while (batches.hasNext()) {
        io.delta.kernel.data.ColumnarBatch batch = batches.next();
        for (int r = 0; r < batch.getSize(); r++) {
          StringBuilder row = new StringBuilder();
          for (int c = 0; c < schema.length(); c++) {
            io.delta.kernel.data.ColumnVector v = batch.getColumnVector(c);
            io.delta.kernel.types.DataType type = v.getDataType();
            row.append(v.isNullAt(r) ? "null"
                : type instanceof io.delta.kernel.types.IntegerType ? String.valueOf(v.getInt(r))
                : type instanceof io.delta.kernel.types.LongType ? String.valueOf(v.getLong(r))
                : type instanceof io.delta.kernel.types.DoubleType ? String.valueOf(v.getDouble(r))
                : type instanceof io.delta.kernel.types.StringType ? v.getString(r)
                : "?" + type).append('|');
          }
          out.add(row.toString());
        }
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out;
  }
}
