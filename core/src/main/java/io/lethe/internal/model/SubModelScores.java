package io.lethe.internal.model;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.element_at;
import static org.apache.spark.sql.functions.udf;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;

/**
 * Several sub-models' probabilities of each row's true class, in one pass over the rows: what the
 * membership attacks score rows by. Pipelines of the stages Lethe builds run fused ({@link
 * FusedScorer}: one function call per row for all of them, the same arithmetic as their stages);
 * others run their stages one sub-model after another.
 */
public final class SubModelScores {
  private SubModelScores() {
  }

  /**
   * The rows with one column more, {@code column}: an array holding, for each shard of {@code
   * shards} in order, its sub-model's probability of the class in {@code labelColumn} (a label
   * index), as the sub-model's probability column gives it.
   */
  public static Dataset<Row> trueClassProbabilities(Dataset<Row> rows, List<Integer> shards,
      IntFunction<PipelineModel> subModel, String labelColumn, String column) {
    List<PipelineModel> models = shards.stream().map(subModel::apply).toList();
    Optional<FusedScorer> fused = FusedScorer.compile(models, rows.schema(), new double[models.size()], false, 0)
        .filter(FusedScorer::probabilistic);
    if (fused.isPresent()) {
      FusedScorer scorer = fused.get();
      Column row = scorer.inputRow(col(labelColumn).cast("double"));
      return rows.withColumn(column, udf((UDF1<Row, double[]>) scorer::classProbabilities,
          DataTypes.createArrayType(DataTypes.DoubleType, false)).apply(row));
    }
    Dataset<Row> df = rows;
    List<Column> picked = new ArrayList<>();
    Column at = col(labelColumn).cast("int").plus(1);
    for (int i = 0; i < models.size(); i++) {
      df = models.get(i).transform(df);
      picked.add(element_at(org.apache.spark.ml.functions.vector_to_array(
          col(ShardColumns.probability(shards.get(i))), "float64"), at));
    }
    List<Column> kept = new ArrayList<>();
    for (String c : rows.columns()) {
      kept.add(ShardColumns.named(c));
    }
    kept.add(array(picked.toArray(new Column[0])).as(column));
    return df.select(kept.toArray(new Column[0]));
  }
}
