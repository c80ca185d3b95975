package io.lethe.internal.registry;

import io.lethe.internal.run.HadoopFiles;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.PredictionModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.ClassificationModel;
import org.apache.spark.ml.tree.CategoricalSplit;
import org.apache.spark.ml.tree.ContinuousSplit;
import org.apache.spark.ml.tree.DecisionTreeModel;
import org.apache.spark.ml.tree.InternalNode;
import org.apache.spark.ml.tree.Node;
import org.apache.spark.ml.tree.Split;
import org.apache.spark.ml.tree.TreeEnsembleModel;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.json4s.AsJsonInput$;
import org.json4s.JObject;
import org.json4s.jackson.JsonMethods$;
import scala.Option;

/**
 * Writes a spark.ml tree model (a decision tree, a random forest, boosted trees; classification or
 * regression) from the driver, in the layout spark.ml's own writer gives it, with no Spark job:
 * the metadata with the model's feature, class and tree counts, and its nodes in pre-order, each
 * with its prediction, impurity, label statistics, gain, children and split. An ensemble also
 * gets each tree's metadata and weight ({@code treesMetadata}), and its nodes carry their tree's
 * index. {@code PipelineModel.load} reads it as it reads spark.ml's save.
 */
final class TreeStageWriter {
  private static final StructType SPLIT = new StructType(new StructField[] {
      DataTypes.createStructField("featureIndex", DataTypes.IntegerType, false),
      DataTypes.createStructField("leftCategoriesOrThreshold", DataTypes.createArrayType(DataTypes.DoubleType, false),
          true),
      DataTypes.createStructField("numCategories", DataTypes.IntegerType, false)});
  private static final StructType NODE = new StructType(new StructField[] {
      DataTypes.createStructField("id", DataTypes.IntegerType, false),
      DataTypes.createStructField("prediction", DataTypes.DoubleType, false),
      DataTypes.createStructField("impurity", DataTypes.DoubleType, false),
      DataTypes.createStructField("impurityStats", DataTypes.createArrayType(DataTypes.DoubleType, false), true),
      DataTypes.createStructField("rawCount", DataTypes.LongType, false),
      DataTypes.createStructField("gain", DataTypes.DoubleType, false),
      DataTypes.createStructField("leftChild", DataTypes.IntegerType, false),
      DataTypes.createStructField("rightChild", DataTypes.IntegerType, false),
      DataTypes.createStructField("split", SPLIT, true)});
  private static final StructType ENSEMBLE_NODE = new StructType(new StructField[] {
      DataTypes.createStructField("treeID", DataTypes.IntegerType, false),
      DataTypes.createStructField("nodeData", NODE, true)});
  private static final StructType TREE_METADATA = new StructType(new StructField[] {
      DataTypes.createStructField("treeID", DataTypes.IntegerType, false),
      DataTypes.createStructField("metadata", DataTypes.StringType, true),
      DataTypes.createStructField("weights", DataTypes.DoubleType, false)});

  private TreeStageWriter() {}

  /** Writes the stage at {@code path} and returns true, or returns false, writing nothing, for a stage that is no tree model. */
  static boolean write(SparkSession spark, HadoopFiles files, Transformer stage, Path path) throws IOException {
    boolean single = stage instanceof DecisionTreeModel;
    if (!(stage instanceof PredictionModel<?, ?> model) || !(single || stage instanceof TreeEnsembleModel<?>)) {
      return false;
    }
    StringBuilder extra = new StringBuilder("{\"numFeatures\":").append(model.numFeatures());
    if (stage instanceof ClassificationModel<?, ?> classifier) {
      extra.append(",\"numClasses\":").append(classifier.numClasses());
    }
    if (!single) {
      extra.append(",\"numTrees\":").append(((TreeEnsembleModel<?>) stage).trees().length);
    }
    JObject extraMetadata = (JObject) JsonMethods$.MODULE$.parse(extra.append('}').toString(), false, false,
        AsJsonInput$.MODULE$.stringAsJsonInput());
    if (single) {
      List<Row> nodes = new ArrayList<>();
      nodes(((DecisionTreeModel) stage).rootNode(), 0, nodes);
      StageWriter.writeParquet(spark, NODE, nodes, StageWriter.partFile(new Path(path, "data")));
    } else {
      TreeEnsembleModel<?> ensemble = (TreeEnsembleModel<?>) stage;
      DecisionTreeModel[] trees = ensemble.trees();
      double[] weights = ensemble.treeWeights();
      List<Row> metadata = new ArrayList<>();
      List<Row> nodes = new ArrayList<>();
      for (int t = 0; t < trees.length; t++) {
        metadata.add(RowFactory.create(t, DefaultParamsWriter$.MODULE$.getMetadataToSave(
            (org.apache.spark.ml.param.Params) trees[t], spark, Option.empty(), Option.empty()), weights[t]));
        List<Row> treeNodes = new ArrayList<>();
        nodes(trees[t].rootNode(), 0, treeNodes);
        for (Row node : treeNodes) {
          nodes.add(RowFactory.create(t, node));
        }
      }
      StageWriter.writeParquet(spark, TREE_METADATA, metadata, StageWriter.partFile(new Path(path, "treesMetadata")));
      StageWriter.writeParquet(spark, ENSEMBLE_NODE, nodes, StageWriter.partFile(new Path(path, "data")));
    }
    StageWriter.writeMetadata(files, path, DefaultParamsWriter$.MODULE$.getMetadataToSave(stage, spark,
        Option.apply(extraMetadata), Option.empty()));
    return true;
  }

  /**
   * Adds the node and its subtree in pre-order, numbered from {@code id} as spark.ml numbers them
   * (the left subtree next, the right one after it); returns the subtree's largest number.
   */
  private static int nodes(Node node, int id, List<Row> out) {
    int at = out.size();
    out.add(null);
    if (node instanceof InternalNode internal) {
      int left = id + 1;
      int leftLast = nodes(internal.leftChild(), left, out);
      int right = leftLast + 1;
      int last = nodes(internal.rightChild(), right, out);
      out.set(at, row(id, node, internal.gain(), left, right, split(internal.split())));
      return last;
    }
    out.set(at, row(id, node, -1.0, -1, -1, RowFactory.create(-1, new double[0], -1)));
    return id;
  }

  private static Row row(int id, Node node, double gain, int left, int right, Row split) {
    return RowFactory.create(id, node.prediction(), node.impurity(), node.impurityStats().stats(),
        node.impurityStats().rawCount(), gain, left, right, split);
  }

  private static Row split(Split split) {
    if (split instanceof CategoricalSplit c) {
      return RowFactory.create(c.featureIndex(), c.leftCategories(), c.numCategories());
    }
    return RowFactory.create(split.featureIndex(), new double[] {((ContinuousSplit) split).threshold()}, -1);
  }
}
