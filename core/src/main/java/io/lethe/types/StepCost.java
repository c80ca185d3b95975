package io.lethe.types;

import io.lethe.Evolving;
/** A step's wall time, the Spark jobs it started and the Delta commits it made. */
@Evolving
public record StepCost(double seconds, long sparkJobs, long deltaCommits) {}
