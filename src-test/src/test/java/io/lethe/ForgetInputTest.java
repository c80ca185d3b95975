package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.floor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.delta.tables.DeltaTable;
import io.lethe.api.Lethe;
import io.lethe.demo.AdultData;
import io.lethe.internal.forget.Forgetter;
import io.lethe.internal.forget.IdFile;
import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.IdKind;
import io.lethe.types.SubModelEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a forget batch can be made of (id files of every format, subjects with several rows, single
 * records) and every way it can be wrong: one clear message, and nothing changed or recorded.
 * Households of three Adult rows are the data subjects here; person_id names a record.
 */
class ForgetInputTest extends LetheTestBase {
  @TempDir
  static Path dir;

  static LetheConfig config;
  static Trained trained;
  static ShardedStore store;
  static ModelRegistry registry;
  static Forgetter forgetter;
  static ForgetLedger ledger;

  @BeforeAll
  static void trainHouseholds() {
    config = adultConfig(2, dir, Map.of(
        LetheConfig.STORE_SUBJECT_COLUMN, "household",
        LetheConfig.STORE_EXCLUDE, AdultData.SUBJECT,
        LetheConfig.FORGET_RECORD_COLUMN, AdultData.SUBJECT,
        LetheConfig.TRAIN_ESTIMATOR, "naive_bayes"));
    trained = ingestAndTrain(config, adultTrain(600).withColumn("household", floor(col(AdultData.SUBJECT).divide(3))));
    store = trained.store();
    registry = trained.registry();
    forgetter = forgetter(trained, config);
    ledger = forgetter.ledger();
  }

  @Test
  void idsAreReadFromTextCsvJsonParquetAndDeltaFiles() throws IOException {
    List<String> ids = List.of("7", "8", "9");
    Path text = Files.writeString(dir.resolve("ids.txt"), "7\n 8 \n\n9\n8\n");
    Path csv = Files.writeString(dir.resolve("ids.csv"), "household,note\n7,a\n8,b\n9,c\n");
    Path json = Files.writeString(dir.resolve("ids.json"), "{\"household\": 7}\n{\"household\": 8}\n{\"household\": 9}\n");
    String parquet = dir.resolve("ids-parquet").toString();
    spark().createDataset(ids, Encoders.STRING()).toDF("household").write().parquet(parquet);
    String delta = dir.resolve("requests-delta").toString();
    spark().createDataset(ids, Encoders.STRING()).toDF("household").write().format("delta").save(delta);

    assertThat(IdFile.read(spark(), text.toString(), "auto", null, IdKind.SUBJECT).ids()).containsExactlyInAnyOrderElementsOf(ids);
    assertThat(IdFile.read(spark(), csv.toString(), "auto", "household", IdKind.SUBJECT).ids()).containsExactlyInAnyOrderElementsOf(ids);
    assertThat(IdFile.read(spark(), json.toString(), "auto", null, IdKind.SUBJECT).ids()).containsExactlyInAnyOrderElementsOf(ids);
    assertThat(IdFile.read(spark(), parquet, "parquet", null, IdKind.SUBJECT).ids()).containsExactlyInAnyOrderElementsOf(ids);
    ForgetRequest fromDelta = IdFile.read(spark(), delta, "auto", null, IdKind.RECORD);
    assertThat(fromDelta.ids()).containsExactlyInAnyOrderElementsOf(ids);
    assertThat(fromDelta.kind()).isEqualTo(IdKind.RECORD);
  }

  @Test
  void malformedIdFilesWrongIdTypesAndNullIdsAreRefusedClearly() throws IOException {
    Path binary = Files.write(dir.resolve("ids.bin"), new byte[] {0x50, 0x4b, 0x03, 0x04, 0x00, 0x01, 0x0a, 0x07, 0x0a});
    assertThatThrownBy(() -> IdFile.read(spark(), binary.toString(), "auto", null, IdKind.SUBJECT))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("malformed");
    Path brokenJson = Files.writeString(dir.resolve("broken.json"), "{\"household\": 7}\n{\"household\": \n");
    assertThatThrownBy(() -> IdFile.read(spark(), brokenJson.toString(), "auto", null, IdKind.SUBJECT))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("malformed");
    Path twoColumns = Files.writeString(dir.resolve("two.csv"), "a,b\n1,2\n");
    assertThatThrownBy(() -> IdFile.read(spark(), twoColumns.toString(), "auto", null, IdKind.SUBJECT))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("name the id column with --ids-column");
    assertThatThrownBy(() -> IdFile.read(spark(), twoColumns.toString(), "auto", "household", IdKind.SUBJECT))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("has no column 'household'");
    String doubles = dir.resolve("doubles-parquet").toString();
    spark().createDataFrame(List.of(RowFactory.create(1.5)), new StructType().add("id", DataTypes.DoubleType))
        .write().parquet(doubles);
    assertThatThrownBy(() -> IdFile.read(spark(), doubles, "auto", null, IdKind.SUBJECT))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("Wrong id type").hasMessageContaining("double");
    Path nulls = Files.writeString(dir.resolve("nulls.json"), "{\"household\": 7}\n{\"household\": null}\n");
    assertThatThrownBy(() -> IdFile.read(spark(), nulls.toString(), "auto", null, IdKind.SUBJECT))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("1 null or empty id");
    assertThatThrownBy(() -> IdFile.read(spark(), dir.resolve("none.txt").toString(), "auto", null, IdKind.SUBJECT))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("does not exist");
    assertThatThrownBy(() -> ForgetRequest.ofSubjects(Arrays.asList("7", null)))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("Id number 2 of the batch is null");

    long version = store.currentVersion();
    long events = ledger.exists() ? ledger.events().count() : 0;
    assertThatThrownBy(() -> forgetter.execute(ForgetRequest.ofSubjects(List.of("7", "seven"))))
        .isInstanceOf(LetheException.class)
        .hasMessageContaining("Wrong id type: the store's column 'household' holds whole numbers, and 1 id(s)");
    assertThat(store.currentVersion()).isEqualTo(version);
    assertThat(ledger.exists() ? ledger.events().count() : 0).as("nothing recorded").isEqualTo(events);
  }

  @Test
  void aSubjectLosesAllItsRowsAndARecordOnlyItself() {
    ForgetResult household = forgetter.execute(ForgetRequest.ofSubjects(List.of("20")));
    assertThat(household.plan().rowsToDelete()).isEqualTo(3);
    assertThat(household.forgotten()).isEqualTo(1);
    assertThat(store.read(store.currentVersion()).where(col(AdultData.SUBJECT).between(60, 62)).count()).isZero();

    ForgetResult record = forgetter.execute(ForgetRequest.ofRecords(List.of("91", "92")));
    assertThat(record.plan().kind()).isEqualTo("record");
    assertThat(record.plan().rowsToDelete()).isEqualTo(2);
    assertThat(record.forgotten()).isEqualTo(2);
    List<Row> left = store.read(store.currentVersion()).where(col("household").equalTo(30)).collectAsList();
    assertThat(left).hasSize(1);
    assertThat(left.get(0).<Long>getAs(AdultData.SUBJECT)).isEqualTo(90L);
    String hash = LedgerKey.of(LEDGER_KEY).hash(IdKind.RECORD, "91");
    assertThat(ledger.current().where(col("subject_hash").equalTo(hash)).select("kind", "step").head().mkString(","))
        .isEqualTo("record,complete");
  }

  @Test
  void aMissingOrForeignStoreRegistryOrLedgerStopsTheRunBeforeAnyChange() throws IOException {
    assertThatThrownBy(() -> Lethe.get(spark(), config.with(Map.of(LetheConfig.STORE_PATH, dir.resolve("nope").toString()))).internals().forgetter())
        .isInstanceOf(StoreNotFoundException.class).hasMessageContaining("No Lethe store at");
    String foreign = dir.resolve("foreign").toString();
    spark().range(3).write().format("delta").save(foreign);
    assertThatThrownBy(() -> Lethe.get(spark(), config.with(Map.of(LetheConfig.STORE_PATH, foreign))).internals().forgetter())
        .isInstanceOf(StoreNotFoundException.class).hasMessageContaining("is not a Lethe store");
    assertThatThrownBy(() -> Lethe.get(spark(), config.with(Map.of(LetheConfig.LEDGER_KEY, ""))).internals().forgetter())
        .isInstanceOf(InvalidConfigException.class).hasMessageContaining("No ledger key");
    // The key from a file (a mounted secret): the same key as the configuration's gives the same hashes.
    Path keyFile = dir.resolve("ledger.key");
    java.nio.file.Files.writeString(keyFile, config.get(LetheConfig.LEDGER_KEY) + "\n");
    LetheConfig fromFile = config.with(Map.of(LetheConfig.LEDGER_KEY, "", LetheConfig.LEDGER_KEY_FILE, keyFile.toString()));
    assertThat(LedgerKey.from(fromFile).hash(IdKind.SUBJECT, "40"))
        .isEqualTo(LedgerKey.from(config).hash(IdKind.SUBJECT, "40"));
    assertThatThrownBy(() -> LedgerKey.from(config.with(Map.of(LetheConfig.LEDGER_KEY_FILE, dir.resolve("no.key").toString()))))
        .isInstanceOf(InvalidConfigException.class).hasMessageContaining("ledger.key-file names").hasMessageContaining("does not exist");
    assertThatThrownBy(() -> forgetter(trained, config.with(Map.of(LetheConfig.FORGET_RECORD_COLUMN, "")))
        .plan(ForgetRequest.ofRecords(List.of("1"))))
        .isInstanceOf(InvalidConfigException.class).hasMessageContaining("needs forget.record-column");
    assertThatThrownBy(() -> forgetter(trained, config.with(Map.of(LetheConfig.LEDGER_PATH, foreign)))
        .execute(ForgetRequest.ofSubjects(List.of("40"))))
        .isInstanceOf(LetheException.class).hasMessageContaining("is not a Lethe ledger");

    long version = store.currentVersion();
    long events = ledger.exists() ? ledger.events().count() : 0;
    ForgetRequest request = ForgetRequest.ofSubjects(List.of("41"));

    // A corrupt manifest in the publish log, as a hand edit of its Delta table would leave it.
    String log = registry.publishLog().toString();
    spark().createDataFrame(List.of(RowFactory.create(99L, "published", "2026-01-01T00:00:00Z",
        "{\"formatVersion\": 1, \"shards\": [")), spark().read().format("delta").load(log).schema())
        .write().format("delta").mode("append").save(log);
    assertThatThrownBy(() -> forgetter.execute(request))
        .isInstanceOf(CorruptRegistryException.class).hasMessageContaining("Corrupt ensemble manifest of version 99");
    DeltaTable.forPath(spark(), log).delete(col("version").equalTo(99));

    // A sub-model directory of the published ensemble gone missing.
    EnsembleManifest latest = registry.latest().orElseThrow();
    SubModelEntry entry = latest.shards().get(0);
    Path subModel = Path.of(registry.subModelPath(latest.version(), entry).toUri());
    Path aside = dir.resolve("aside");
    Files.move(subModel, aside, StandardCopyOption.ATOMIC_MOVE);
    try {
      assertThatThrownBy(() -> forgetter.execute(request))
          .isInstanceOf(CorruptRegistryException.class)
          .hasMessageContaining("The sub-model of shard " + entry.shard())
          .hasMessageContaining("is missing");
    } finally {
      Files.move(aside, subModel, StandardCopyOption.ATOMIC_MOVE);
    }
    // A sub-model directory whose files are corrupt: its pipeline's metadata cut short.
    Path metadata;
    try (var files = Files.list(subModel.resolve("metadata"))) {
      metadata = files.filter(f -> f.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
    }
    byte[] whole = Files.readAllBytes(metadata);
    Files.write(metadata, Arrays.copyOf(whole, whole.length / 2));
    try {
      assertThatThrownBy(() -> io.lethe.internal.model.ShardEnsembleModel.load(registry, latest.version()))
          .isInstanceOf(CorruptRegistryException.class)
          .hasMessageContaining("the sub-model of shard " + entry.shard())
          .hasMessageContaining("cannot be read");
    } finally {
      Files.write(metadata, whole);
    }

    assertThat(store.currentVersion()).as("no store change").isEqualTo(version);
    assertThat(ledger.exists() ? ledger.events().count() : 0).as("no ledger change").isEqualTo(events);
    assertThat(forgetter.execute(request).forgotten()).as("the same batch works once storage is sound").isEqualTo(1);
  }
}
