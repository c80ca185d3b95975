package io.lethe.internal.run;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.SparkSession;

/**
 * What a step costs besides its wall time: the Spark jobs it started and the Delta commits it made.
 * A step marks its thread with a Spark local property, which every job started from that thread
 * (or from a thread it starts) carries to the listener, so work on other threads is not counted in
 * it; nested steps count in each enclosing step too. Commits are counted where Lethe commits
 * ({@link #commit}).
 */
public final class CostMeter extends SparkListener {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(CostMeter.class);
  private static final String STEPS_PROPERTY = "lethe.steps";
  /** Spark's local property for the description of the jobs a thread starts. */
  private static final String DESCRIPTION_PROPERTY = "spark.job.description";
  private static final long DRAIN_MILLIS = 5000;
  private static final Object LOCK = new Object();
  private static CostMeter current;

  private final SparkContext context;
  private final AtomicLong nextKey = new AtomicLong();
  /** Per step key: jobs started, commits made. */
  private final Map<String, AtomicLongArray> counts = new ConcurrentHashMap<>();

  private CostMeter(SparkContext context) {
    this.context = context;
  }

  /** The meter of the session's SparkContext, registered as a listener on first use. */
  public static CostMeter install(SparkSession spark) {
    synchronized (LOCK) {
      SparkContext context = spark.sparkContext();
      if (current == null || current.context != context) {
        current = new CostMeter(context);
        context.addSparkListener(current);
      }
      return current;
    }
  }

  /** The installed meter, unless its SparkContext has stopped. */
  static Optional<CostMeter> current() {
    synchronized (LOCK) {
      return current == null || current.context.isStopped() ? Optional.empty() : Optional.of(current);
    }
  }

  /** Counts one Delta commit in every step the calling thread is in. */
  public static void commit() {
    current().ifPresent(m -> m.chain().forEach(key -> m.countsOf(key).incrementAndGet(1)));
  }

  /** A step entered on this thread, and the thread's marks and job description before it. */
  record Mark(String key, String before, String description) {}

  /** Marks the thread as in the step, and describes its jobs by it in the Spark UI ("lethe: delete"). */
  Mark enter(String step) {
    String key = step + "#" + nextKey.incrementAndGet();
    String before = context.getLocalProperty(STEPS_PROPERTY);
    String description = context.getLocalProperty(DESCRIPTION_PROPERTY);
    context.setLocalProperty(STEPS_PROPERTY, before == null ? key : before + "," + key);
    context.setLocalProperty(DESCRIPTION_PROPERTY, "lethe: " + step);
    counts.put(key, new AtomicLongArray(2));
    return new Mark(key, before, description);
  }

  void exit(Mark mark) {
    context.setLocalProperty(STEPS_PROPERTY, mark.before());
    context.setLocalProperty(DESCRIPTION_PROPERTY, mark.description());
  }

  /**
   * Waits (a few milliseconds, bounded) until Spark has delivered the events of jobs already
   * started: they reach listeners asynchronously.
   */
  void drain() {
    try {
      context.listenerBus().waitUntilEmpty(DRAIN_MILLIS);
    } catch (Exception late) { // counts may then miss the last jobs' events; never fail a run for it
    }
  }

  /** Jobs and commits of a finished step (after a {@link #drain}), and forgets it. */
  long[] take(String key) {
    AtomicLongArray c = counts.remove(key);
    return c == null ? new long[2] : new long[] {c.get(0), c.get(1)};
  }

  @Override
  public void onJobStart(SparkListenerJobStart job) {
    String chain = job.properties() == null ? null : job.properties().getProperty(STEPS_PROPERTY);
    if (LOG.isDebugEnabled()) { // what to profile when a step runs more jobs than it should
      LOG.debug("Spark job {} in steps [{}]: {} ({})", job.jobId(), chain,
          job.stageInfos().isEmpty() ? "" : job.stageInfos().head().name() + " / " + job.stageInfos().head().details()
              .lines().filter(l -> l.contains("io.delta") || l.contains("io.lethe")).limit(4).toList(),
          job.properties() == null ? "" : job.properties().getProperty("spark.job.description"));
    }
    if (chain != null) {
      for (String key : chain.split(",")) {
        countsOf(key).incrementAndGet(0);
      }
    }
  }

  private List<String> chain() {
    String chain = context.getLocalProperty(STEPS_PROPERTY);
    return chain == null ? List.of() : List.of(chain.split(","));
  }

  private AtomicLongArray countsOf(String key) {
    // A step already reported no longer counts (its late events are dropped with it).
    return counts.getOrDefault(key, new AtomicLongArray(2));
  }
}
