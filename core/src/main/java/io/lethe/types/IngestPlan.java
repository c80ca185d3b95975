package io.lethe.types;

import io.lethe.Evolving;

/**
 * What an ingest would do, with no side effect: the store it creates (its layout, from the
 * configuration and the source) or appends to, the source validated as ingest validates it.
 *
 * @param creates whether it creates the store (else it appends to it)
 */
@Evolving
public record IngestPlan(String path, boolean creates, StoreLayout layout) {}
