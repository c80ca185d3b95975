package io.lethe.types;

import io.lethe.Evolving;
import java.util.Map;

/**
 * What an ingest wrote.
 *
 * @param created true when this ingest created the store, false for an append
 * @param rowsPerShard rows written, by shard (only the shards the rows landed in)
 */
@Evolving
public record IngestResult(boolean created, long version, long rows, Map<Integer, Long> rowsPerShard) {}
