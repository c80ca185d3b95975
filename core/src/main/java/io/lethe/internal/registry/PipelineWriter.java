package io.lethe.internal.registry;

import io.lethe.LetheException;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.sql.SparkSession;
import org.json4s.AsJsonInput$;
import org.json4s.JValue;
import org.json4s.jackson.JsonMethods$;
import scala.Option;

/**
 * Saves a fitted PipelineModel in spark.ml's own layout (loadable with PipelineModel.load). The
 * stages Lethe's pipelines are made of are written from the driver with no Spark job
 * ({@link StageWriter}); any other stage by its own writer (a few small Spark jobs each). A save
 * alone writes its stages at the same time; one of several at once, in turn. The pipeline's own
 * metadata is spark.ml's JSON, written as one file with no job, last.
 */
public final class PipelineWriter {
  private PipelineWriter() {}

  /** The one text file spark.ml writes (and reads) a pipeline's or a stage's metadata JSON in. */
  static Path metadataFile(Path dir) {
    return new Path(new Path(dir, "metadata"), "part-00000");
  }

  /** Pipelines being saved in this JVM right now. */
  private static final AtomicInteger SAVING = new AtomicInteger();

  private static void writeAtOnce(List<Callable<Void>> writes) throws IOException {
    ExecutorService pool = Executors.newFixedThreadPool(writes.size());
    try {
      List<Future<Void>> saves = new ArrayList<>();
      for (Callable<Void> write : writes) {
        saves.add(pool.submit(write));
      }
      for (Future<Void> save : saves) {
        save.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("Interrupted while saving a sub-model", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      throw cause instanceof IOException io ? io : new IOException(LetheException.firstLine(cause), cause);
    } finally {
      pool.shutdownNow();
    }
  }

  public static void save(SparkSession spark, HadoopFiles files, PipelineModel model, Path dir) throws IOException {
    Transformer[] stages = model.stages();
    String uids = Arrays.stream(stages).map(s -> Json.write(s.uid())).collect(Collectors.joining(",", "[", "]"));
    // As Pipeline's writer does: the stage uids are the pipeline's parameters.
    JValue params = JsonMethods$.MODULE$.parse("{\"stageUids\":" + uids + "}", false, false,
        AsJsonInput$.MODULE$.stringAsJsonInput());
    String metadata = DefaultParamsWriter$.MODULE$.getMetadataToSave(model, spark, Option.empty(),
        Option.apply(params));
    String stagesDir = new Path(dir, "stages").toString();
    List<Callable<Void>> writes = new ArrayList<>();
    for (int i = 0; i < stages.length; i++) {
      if (!(stages[i] instanceof MLWritable writable)) {
        throw new LetheException("The stage " + stages[i].uid() + " of the sub-model cannot be saved");
      }
      String path = Pipeline.SharedReadWrite$.MODULE$.getStagePath(stages[i].uid(), i, stages.length, stagesDir);
      Transformer stage = stages[i];
      writes.add(() -> {
        if (!StageWriter.write(spark, files, stage, new Path(path))) {
          writable.write().save(path);
        }
        return null;
      });
    }
    // A save alone writes its stages at the same time; saves that run beside others (a retrain of
    // many shards saves several at once) write theirs in turn, so that the threads stay a few.
    boolean alone = SAVING.incrementAndGet() == 1;
    try {
      if (alone) {
        writeAtOnce(writes);
      } else {
        for (Callable<Void> write : writes) {
          write.call();
        }
      }
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException(LetheException.firstLine(e), e);
    } finally {
      SAVING.decrementAndGet();
    }
    // Written last: a directory with metadata holds every stage.
    files.writeNew(metadataFile(dir), metadata);
  }
}
