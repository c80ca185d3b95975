package io.lethe.internal.report;

import java.util.List;

/**
 * A self-contained HTML page (inline CSS and SVG, no script, no external resource) for Lethe's
 * reports. Every text given to it is escaped.
 */
public final class HtmlPage {
  private static final String CSS = String.join("\n",
      "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:60rem;",
      "color:#1d2433;padding:0 1rem;line-height:1.45}",
      "h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d7dce5}",
      "p.meta{color:#5a6478;margin-top:0}table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}",
      "th,td{border:1px solid #d7dce5;padding:.25rem .6rem;text-align:right}th{background:#f1f4f9}",
      "td:first-child,th:first-child{text-align:left}.ok{color:#17803d;font-weight:600}",
      ".fail{color:#b42318;font-weight:600}.pending{color:#a15c07;font-weight:600}",
      ".warn{background:#fff6e0;border-left:4px solid #e8a317;padding:.4rem .8rem}",
      "figure{margin:1rem 0}figcaption{font-size:.85rem;color:#5a6478}svg text{font-size:11px;fill:#1d2433}",
      "summary{cursor:pointer;color:#1d4ed8;margin:.4rem 0}");

  private final StringBuilder body = new StringBuilder();
  private final String title;

  public HtmlPage(String title, String subtitle) {
    this.title = title;
    body.append("<h1>").append(escape(title)).append("</h1>\n");
    if (subtitle != null) {
      body.append("<p class=\"meta\">").append(escape(subtitle)).append("</p>\n");
    }
  }

  public HtmlPage section(String heading) {
    body.append("<h2>").append(escape(heading)).append("</h2>\n");
    return this;
  }

  public HtmlPage paragraph(String text) {
    body.append("<p>").append(escape(text)).append("</p>\n");
    return this;
  }

  public HtmlPage warning(String text) {
    body.append("<p class=\"warn\">").append(escape(text)).append("</p>\n");
    return this;
  }

  /** A table; a cell "PASS"/"MET", "PENDING" or "FAIL"/"MISSED" is coloured. */
  public HtmlPage table(String id, List<String> header, List<List<String>> rows) {
    body.append("<table id=\"").append(escape(id)).append("\"><thead><tr>");
    header.forEach(h -> body.append("<th>").append(escape(h)).append("</th>"));
    body.append("</tr></thead><tbody>\n");
    for (List<String> row : rows) {
      body.append("<tr>");
      for (String cell : row) {
        String cls = switch (cell) {
          case "PASS", "MET" -> " class=\"ok\"";
          case "FAIL", "MISSED" -> " class=\"fail\"";
          case "PENDING" -> " class=\"pending\"";
          default -> "";
        };
        body.append("<td").append(cls).append('>').append(escape(cell)).append("</td>");
      }
      body.append("</tr>\n");
    }
    body.append("</tbody></table>\n");
    return this;
  }

  /**
   * Opens a collapsible part (an HTML {@code details} element, closed until the reader opens it;
   * no script) whose summary line is always shown; {@link #closeDetails} ends it.
   */
  public HtmlPage openDetails(String id, String summary) {
    body.append("<details id=\"").append(escape(id)).append("\"><summary>").append(escape(summary))
        .append("</summary>\n");
    return this;
  }

  public HtmlPage closeDetails() {
    body.append("</details>\n");
    return this;
  }

  /** A chart (SVG from {@link Charts}) with a caption. */
  public HtmlPage figure(String id, String svg, String caption) {
    body.append("<figure id=\"").append(escape(id)).append("\">").append(svg).append("<figcaption>")
        .append(escape(caption)).append("</figcaption></figure>\n");
    return this;
  }

  public String render() {
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        + "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        + "<title>" + escape(title) + "</title><style>" + CSS + "</style></head>\n<body>\n" + body
        + "</body></html>\n";
  }

  public static String escape(String text) {
    StringBuilder out = new StringBuilder(text.length());
    for (char c : text.toCharArray()) {
      switch (c) {
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '&' -> out.append("&amp;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&#39;");
        default -> out.append(c);
      }
    }
    return out.toString();
  }
}
