package io.lethe.internal.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Inline SVG charts for {@link HtmlPage}: grouped bars and lines, axes with labels, a legend. */
public final class Charts {
  private static final String[] COLOURS = {"#2f6fdb", "#e8710a", "#17803d", "#b42318", "#7b3fb5", "#5a6478"};
  private static final int WIDTH = 720;
  private static final int HEIGHT = 300;
  private static final int LEFT = 64;
  private static final int RIGHT = 20;
  private static final int TOP = 34;
  private static final int BOTTOM = 48;

  private Charts() {}

  /** A named series of values: one per category for bars, (x, y) points for lines. */
  public record Series(String name, List<double[]> points) {
    public static Series values(String name, List<Double> values) {
      List<double[]> points = new ArrayList<>();
      for (int i = 0; i < values.size(); i++) {
        points.add(new double[] {i, values.get(i)});
      }
      return new Series(name, points);
    }
  }

  /** Grouped bars: one group per category, one bar per series. */
  public static String bars(String yLabel, List<String> categories, List<Series> series) {
    double max = series.stream().flatMap(s -> s.points().stream()).mapToDouble(p -> p[1]).max().orElse(1);
    max = niceCeiling(max);
    StringBuilder svg = open(yLabel);
    axes(svg, 0, max);
    double plotW = WIDTH - LEFT - RIGHT;
    double group = plotW / Math.max(1, categories.size());
    double bar = group * 0.8 / Math.max(1, series.size());
    for (int c = 0; c < categories.size(); c++) {
      double gx = LEFT + c * group;
      text(svg, gx + group / 2, HEIGHT - BOTTOM + 16, "middle", categories.get(c));
      for (int s = 0; s < series.size(); s++) {
        if (c >= series.get(s).points().size()) {
          continue;
        }
        double v = series.get(s).points().get(c)[1];
        double h = (HEIGHT - TOP - BOTTOM) * v / max;
        double x = gx + group * 0.1 + s * bar;
        svg.append(String.format(Locale.ROOT,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s: %s</title></rect>",
            x, HEIGHT - BOTTOM - h, bar * 0.95, h, COLOURS[s % COLOURS.length],
            HtmlPage.escape(series.get(s).name()), format(v)));
      }
    }
    legend(svg, series);
    return svg.append("</svg>").toString();
  }

  /** Lines through (x, y) points, on linear axes from the data's ranges (y from 0 unless below). */
  public static String lines(String xLabel, String yLabel, List<Series> series, double yMin, double yMax) {
    double xMin = series.stream().flatMap(s -> s.points().stream()).mapToDouble(p -> p[0]).min().orElse(0);
    double xMax = series.stream().flatMap(s -> s.points().stream()).mapToDouble(p -> p[0]).max().orElse(1);
    if (xMax <= xMin) {
      xMax = xMin + 1;
    }
    StringBuilder svg = open(yLabel);
    axes(svg, yMin, yMax);
    double plotW = WIDTH - LEFT - RIGHT;
    double plotH = HEIGHT - TOP - BOTTOM;
    for (int t = 0; t <= 4; t++) {
      double xv = xMin + (xMax - xMin) * t / 4;
      text(svg, LEFT + plotW * t / 4, HEIGHT - BOTTOM + 16, "middle", format(xv));
    }
    text(svg, LEFT + plotW / 2, HEIGHT - 8, "middle", xLabel);
    for (int s = 0; s < series.size(); s++) {
      StringBuilder path = new StringBuilder();
      for (double[] p : series.get(s).points()) {
        double x = LEFT + plotW * (p[0] - xMin) / (xMax - xMin);
        double y = HEIGHT - BOTTOM - plotH * (clamp(p[1], yMin, yMax) - yMin) / (yMax - yMin);
        path.append(path.length() == 0 ? "M" : " L").append(String.format(Locale.ROOT, "%.1f %.1f", x, y));
        svg.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>", x, y,
            COLOURS[s % COLOURS.length]));
      }
      svg.append("<path d=\"").append(path).append("\" fill=\"none\" stroke-width=\"2\" stroke=\"")
          .append(COLOURS[s % COLOURS.length]).append("\"/>");
    }
    legend(svg, series);
    return svg.append("</svg>").toString();
  }

  private static StringBuilder open(String yLabel) {
    StringBuilder svg = new StringBuilder(String.format(Locale.ROOT,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">",
        WIDTH, HEIGHT, WIDTH, HEIGHT));
    svg.append(String.format(Locale.ROOT, "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" "
        + "text-anchor=\"middle\">%s</text>", HEIGHT / 2, HEIGHT / 2, HtmlPage.escape(yLabel)));
    return svg;
  }

  private static void axes(StringBuilder svg, double yMin, double yMax) {
    double plotH = HEIGHT - TOP - BOTTOM;
    for (int t = 0; t <= 4; t++) {
      double y = HEIGHT - BOTTOM - plotH * t / 4;
      svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e3e7ee\"/>",
          LEFT, y, WIDTH - RIGHT, y));
      text(svg, LEFT - 6, y + 4, "end", format(yMin + (yMax - yMin) * t / 4));
    }
    svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#5a6478\"/>",
        LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, HEIGHT - BOTTOM));
  }

  private static void legend(StringBuilder svg, List<Series> series) {
    double x = LEFT;
    for (int s = 0; s < series.size(); s++) {
      svg.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"10\" width=\"12\" height=\"12\" fill=\"%s\"/>", x,
          COLOURS[s % COLOURS.length]));
      text(svg, x + 16, 20, "start", series.get(s).name());
      x += 28 + 7 * series.get(s).name().length();
    }
  }

  private static void text(StringBuilder svg, double x, double y, String anchor, String text) {
    svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>", x, y, anchor,
        HtmlPage.escape(text)));
  }

  private static double clamp(double v, double lo, double hi) {
    return Math.max(lo, Math.min(hi, v));
  }

  /** The smallest of 1, 2, 2.5, 5 times a power of ten at or above the value. */
  static double niceCeiling(double v) {
    if (v <= 0) {
      return 1;
    }
    double power = Math.pow(10, Math.floor(Math.log10(v)));
    for (double m : new double[] {1, 2, 2.5, 5, 10}) {
      if (m * power >= v) {
        return m * power;
      }
    }
    return 10 * power;
  }

  static String format(double v) {
    if (Math.abs(v) >= 100 || v == Math.rint(v)) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    return String.format(Locale.ROOT, Math.abs(v) >= 1 ? "%.1f" : "%.2f", v);
  }
}
