package io.lethe.internal.registry;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.DecisionTreeClassificationModel;
import org.apache.spark.ml.classification.GBTClassificationModel;
import org.apache.spark.ml.classification.RandomForestClassificationModel;
import org.apache.spark.ml.regression.DecisionTreeRegressionModel;
import org.apache.spark.ml.regression.GBTRegressionModel;
import org.apache.spark.ml.regression.RandomForestRegressionModel;
import org.apache.spark.ml.tree.CategoricalSplit;
import org.apache.spark.ml.tree.ContinuousSplit;
import org.apache.spark.ml.tree.InternalNode;
import org.apache.spark.ml.tree.LeafNode;
import org.apache.spark.ml.tree.Node;
import org.apache.spark.ml.tree.Split;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.mllib.tree.impurity.EntropyCalculator;
import org.apache.spark.mllib.tree.impurity.GiniCalculator;
import org.apache.spark.mllib.tree.impurity.ImpurityCalculator;
import org.apache.spark.mllib.tree.impurity.VarianceCalculator;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.StructType;
import scala.Option;

/**
 * Reads a spark.ml tree model (a decision tree, a random forest, boosted trees) saved in spark.ml's
 * layout, in the driver with no Spark job: its metadata, its nodes (rebuilt from their pre-order
 * numbers, as spark.ml's reader rebuilds them) and, for an ensemble, each tree's metadata and
 * weight. The counterpart of {@link TreeStageWriter}.
 */
final class TreeStageReader {
  private TreeStageReader() {}

  /** The model at {@code path}, or null for a class that is no tree model. */
  static Transformer read(DefaultParamsReader.Metadata md, String json, HadoopFiles files, Path path)
      throws PipelineReader.Unknown, IOException {
    JsonNode meta = Json.read(json, JsonNode.class, "stage metadata");
    String uid = md.uid();
    int features = meta.path("numFeatures").asInt(-1);
    int classes = meta.path("numClasses").asInt(-1);
    String impurity = param(meta, "impurity");
    Transformer model = switch (md.className()) {
      case "org.apache.spark.ml.classification.DecisionTreeClassificationModel" ->
          new DecisionTreeClassificationModel(uid, single(files, path, impurity), features, classes);
      case "org.apache.spark.ml.regression.DecisionTreeRegressionModel" ->
          new DecisionTreeRegressionModel(uid, single(files, path, impurity), features);
      case "org.apache.spark.ml.classification.RandomForestClassificationModel" -> {
        Ensemble e = ensemble(files, path, impurity, DecisionTreeClassificationModel.class.getName());
        DecisionTreeClassificationModel[] trees = new DecisionTreeClassificationModel[e.roots().size()];
        for (int t = 0; t < trees.length; t++) {
          trees[t] = new DecisionTreeClassificationModel(e.metadata().get(t).uid(), e.roots().get(t), features, classes);
          e.metadata().get(t).getAndSetParams(trees[t], Option.empty());
        }
        yield new RandomForestClassificationModel(uid, trees, features, classes);
      }
      case "org.apache.spark.ml.regression.RandomForestRegressionModel" ->
          new RandomForestRegressionModel(uid, regressionTrees(files, path, impurity, features, null), features);
      case "org.apache.spark.ml.classification.GBTClassificationModel" -> {
        List<Double> weights = new ArrayList<>();
        DecisionTreeRegressionModel[] trees = regressionTrees(files, path, "variance", features, weights);
        yield new GBTClassificationModel(uid, trees, weights.stream().mapToDouble(Double::doubleValue).toArray(),
            features, classes < 0 ? 2 : classes);
      }
      case "org.apache.spark.ml.regression.GBTRegressionModel" -> {
        List<Double> weights = new ArrayList<>();
        DecisionTreeRegressionModel[] trees = regressionTrees(files, path, "variance", features, weights);
        yield new GBTRegressionModel(uid, trees, weights.stream().mapToDouble(Double::doubleValue).toArray(), features);
      }
      default -> null;
    };
    if (model != null && (features < 0 || (model instanceof org.apache.spark.ml.classification.ClassificationModel<?, ?>
        && classes < 0 && !(model instanceof GBTClassificationModel)))) {
      throw new PipelineReader.Unknown("no feature or class count");
    }
    return model;
  }

  private static String param(JsonNode meta, String name) throws PipelineReader.Unknown {
    JsonNode v = meta.path("paramMap").path(name);
    if (v.isMissingNode()) {
      v = meta.path("defaultParamMap").path(name);
    }
    if (!v.isTextual()) {
      throw new PipelineReader.Unknown("no " + name);
    }
    return v.asText();
  }

  private static DecisionTreeRegressionModel[] regressionTrees(HadoopFiles files, Path path, String impurity,
      int features, List<Double> weights) throws PipelineReader.Unknown, IOException {
    Ensemble e = ensemble(files, path, impurity, DecisionTreeRegressionModel.class.getName());
    DecisionTreeRegressionModel[] trees = new DecisionTreeRegressionModel[e.roots().size()];
    for (int t = 0; t < trees.length; t++) {
      trees[t] = new DecisionTreeRegressionModel(e.metadata().get(t).uid(), e.roots().get(t), features);
      e.metadata().get(t).getAndSetParams(trees[t], Option.empty());
    }
    if (weights != null) {
      weights.addAll(e.weights());
    }
    return trees;
  }

  private static Node single(HadoopFiles files, Path path, String impurity) throws PipelineReader.Unknown, IOException {
    PipelineReader.Rows data = PipelineReader.rows(files, new Path(path, "data"));
    return tree(data.rows(), data.schema(), impurity);
  }

  /** An ensemble's trees in order: each one's metadata, weight and root. */
  private record Ensemble(List<DefaultParamsReader.Metadata> metadata, List<Double> weights, List<Node> roots) {}

  private static Ensemble ensemble(HadoopFiles files, Path path, String impurity, String treeClass)
      throws PipelineReader.Unknown, IOException {
    PipelineReader.Rows treesMetadata = PipelineReader.rows(files, new Path(path, "treesMetadata"));
    int idAt = treesMetadata.schema().fieldIndex("treeID");
    int metadataAt = treesMetadata.schema().fieldIndex("metadata");
    int weightAt = treesMetadata.schema().fieldIndex("weights");
    List<InternalRow> byTree = new ArrayList<>(treesMetadata.rows());
    byTree.sort(Comparator.comparingInt(r -> r.getInt(idAt)));
    PipelineReader.Rows data = PipelineReader.rows(files, new Path(path, "data"));
    int treeAt = data.schema().fieldIndex("treeID");
    int nodeAt = data.schema().fieldIndex("nodeData");
    StructType nodeType = (StructType) data.schema().fields()[nodeAt].dataType();
    int nodeFields = nodeType.size();
    Map<Integer, List<InternalRow>> nodes = new TreeMap<>();
    for (InternalRow r : data.rows()) {
      nodes.computeIfAbsent(r.getInt(treeAt), k -> new ArrayList<>()).add(r.getStruct(nodeAt, nodeFields));
    }
    List<DefaultParamsReader.Metadata> metadata = new ArrayList<>();
    List<Double> weights = new ArrayList<>();
    List<Node> roots = new ArrayList<>();
    for (int t = 0; t < byTree.size(); t++) {
      InternalRow r = byTree.get(t);
      if (r.getInt(idAt) != t || !nodes.containsKey(t)) {
        throw new PipelineReader.Unknown("trees not numbered 0 to " + (byTree.size() - 1));
      }
      metadata.add(PipelineReader.parse(r.getUTF8String(metadataAt).toString(), treeClass));
      weights.add(r.getDouble(weightAt));
      roots.add(tree(nodes.get(t), nodeType, impurity));
    }
    return new Ensemble(metadata, weights, roots);
  }

  /**
   * A tree from its nodes' rows (id, prediction, impurity, impurityStats, rawCount, gain,
   * leftChild, rightChild, split), numbered 0 to n - 1 in pre-order: built from the last to the
   * first, so that children exist before their parent.
   */
  private static Node tree(List<InternalRow> rows, StructType type, String impurity) throws PipelineReader.Unknown {
    int idAt = field(type, "id");
    int predictionAt = field(type, "prediction");
    int impurityAt = field(type, "impurity");
    int statsAt = field(type, "impurityStats");
    int countAt = field(type, "rawCount");
    int gainAt = field(type, "gain");
    int leftAt = field(type, "leftChild");
    int rightAt = field(type, "rightChild");
    int splitAt = field(type, "split");
    InternalRow[] byId = new InternalRow[rows.size()];
    for (InternalRow r : rows) {
      int id = r.getInt(idAt);
      if (id < 0 || id >= byId.length || byId[id] != null) {
        throw new PipelineReader.Unknown("node ids not 0 to " + (byId.length - 1));
      }
      byId[id] = r;
    }
    if (byId.length == 0) {
      throw new PipelineReader.Unknown("a tree without nodes");
    }
    Node[] built = new Node[byId.length];
    for (int id = byId.length - 1; id >= 0; id--) {
      InternalRow r = byId[id];
      ImpurityCalculator stats = calculator(impurity, r.getArray(statsAt).toDoubleArray(), r.getLong(countAt));
      int left = r.getInt(leftAt);
      if (left == -1) {
        built[id] = new LeafNode(r.getDouble(predictionAt), r.getDouble(impurityAt), stats);
      } else {
        built[id] = new InternalNode(r.getDouble(predictionAt), r.getDouble(impurityAt), r.getDouble(gainAt),
            built[left], built[r.getInt(rightAt)], split(r.getStruct(splitAt, 3)), stats);
      }
    }
    return built[0];
  }

  private static int field(StructType type, String name) throws PipelineReader.Unknown {
    if (!List.of(type.fieldNames()).contains(name)) {
      throw new PipelineReader.Unknown("no node field " + name);
    }
    return type.fieldIndex(name);
  }

  private static Split split(InternalRow s) {
    double[] values = s.getArray(1).toDoubleArray();
    int categories = s.getInt(2);
    return categories == -1 ? new ContinuousSplit(s.getInt(0), values[0])
        : new CategoricalSplit(s.getInt(0), values, categories);
  }

  private static ImpurityCalculator calculator(String impurity, double[] stats, long rawCount)
      throws PipelineReader.Unknown {
    return switch (impurity.toLowerCase(java.util.Locale.ROOT)) {
      case "gini" -> new GiniCalculator(stats, rawCount);
      case "entropy" -> new EntropyCalculator(stats, rawCount);
      case "variance" -> new VarianceCalculator(stats, rawCount);
      default -> throw new PipelineReader.Unknown("impurity " + impurity);
    };
  }
}
