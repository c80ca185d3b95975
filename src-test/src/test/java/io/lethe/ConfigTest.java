package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

// Reads configuration files by paths without a scheme: not beside HdfsTest, which sets the default file system.
@org.junit.jupiter.api.parallel.ResourceLock(value = HdfsTest.DEFAULT_FILE_SYSTEM,
    mode = org.junit.jupiter.api.parallel.ResourceAccessMode.READ)
class ConfigTest {
  private static final String SHIPPED = LetheTestBase.home().resolve("conf/lethe.properties").toString();

  @Test
  void theShippedFileDocumentsEveryKeyWithItsDefault() {
    LetheConfig shipped = LetheConfig.load(SHIPPED, Map.of());
    LetheConfig defaults = LetheConfig.defaultsOnly();
    assertThat(shipped.keys()).containsAll(defaults.keys());
    for (String key : defaults.keys()) {
      assertThat(shipped.get(key)).as(key).isEqualTo(defaults.get(key));
    }
  }

  @Test
  void overridesWinAndTypedValuesAreChecked() {
    LetheConfig config = LetheConfig.load(SHIPPED, Map.of("store.shards", "16", "train.param.regParam", "0.1"));
    assertThat(config.getInt(LetheConfig.STORE_SHARDS)).isEqualTo(16);
    assertThat(config.withPrefix(LetheConfig.TRAIN_PARAM_PREFIX)).containsEntry("regParam", "0.1");
    LetheConfig bad = LetheConfig.load(null, Map.of("store.shards", "many"));
    assertThatThrownBy(() -> bad.getInt(LetheConfig.STORE_SHARDS)).hasMessageContaining("must be a whole number");
    assertThatThrownBy(() -> LetheConfig.load(null, Map.of("store.shard", "4")))
        .isInstanceOf(InvalidConfigException.class).hasMessageContaining("Unknown configuration key 'store.shard'");
  }
}
