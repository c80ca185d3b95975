package io.lethe.internal.model;

import io.lethe.LetheException;
import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.ml.feature.ImputerModel;
import org.apache.spark.ml.feature.OneHotEncoderModel;
import org.apache.spark.ml.feature.StringIndexerModel;

/**
 * One input of the assembler: a numeric column (imputed as ImputerModel does: null or the
 * missing value becomes the surrogate, cast back to the column's type) or a categorical column
 * (StringIndexerModel's index, unseen and null labels to the extra index with "keep", then
 * OneHotEncoderModel's one-hot, the last category dropped if so fitted).
 */
record FeaturePart(int input, int offset, int width, boolean impute, double surrogate, double missing,
    int castBack, Map<String, Integer> labels, boolean keepUnseen, int categories, boolean keepInvalid)
    implements Serializable {

  static FeaturePart numeric(int input, boolean impute, double surrogate, double missing, int castBack) {
    return new FeaturePart(input, 0, 1, impute, surrogate, missing, castBack, null, false, 0, false);
  }

  static FeaturePart indexed(int input, String[] labels, boolean keep) {
    Map<String, Integer> index = new HashMap<>();
    for (int l = 0; l < labels.length; l++) {
      index.put(labels[l], l);
    }
    return new FeaturePart(input, 0, 0, false, 0, 0, 0, index, keep, 0, false);
  }

  FeaturePart encoded(int categorySize, boolean dropLast, boolean keep) {
    int configured = keep ? categorySize + 1 : categorySize;
    return new FeaturePart(input, 0, dropLast ? configured - 1 : configured, false, 0, 0, 0, labels, keepUnseen,
        categorySize, keep);
  }

  FeaturePart at(int newOffset) {
    return new FeaturePart(input, newOffset, width, impute, surrogate, missing, castBack, labels, keepUnseen, categories,
        keepInvalid);
  }

  double numeric(Double value) {
    double v;
    if (impute && (value == null || value == missing || (Double.isNaN(missing) && value.isNaN()))) {
      v = switch (castBack) {
        case 1 -> (float) surrogate;
        case 2 -> (double) (long) surrogate;
        default -> surrogate;
      };
    } else if (value == null) {
      throw new LetheException("A null feature value reached a sub-model (train.impute is off)");
    } else {
      v = value;
    }
    if (Double.isNaN(v)) {
      throw new LetheException("A NaN feature value reached a sub-model (train.impute is off)");
    }
    return v;
  }

  int categoryOf(String label) {
    Integer index = label == null ? null : labels.get(label);
    int at;
    if (index != null) {
      at = index;
    } else if (keepUnseen) {
      at = labels.size();
    } else {
      throw new LetheException("A categorical value unseen in training (or null) reached a sub-model");
    }
    if (at >= categories) {
      if (!keepInvalid) {
        throw new LetheException("A category index outside the one-hot encoder's range reached a sub-model");
      }
      at = categories;
    }
    return at;
  }
}
