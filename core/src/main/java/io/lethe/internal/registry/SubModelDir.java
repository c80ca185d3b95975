package io.lethe.internal.registry;

/**
 * A sub-model directory on storage, published or not.
 *
 * @param shard its shard
 * @param storeVersion the store version it was fitted on
 * @param relativePath its path under the registry root
 */
public record SubModelDir(int shard, long storeVersion, String relativePath) {
}
