#include "html.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "svg.h"

namespace pomona::report {
namespace {

// Phones get one narrow column and horizontally scrolling tables; print drops the page width and
// keeps figures and table rows whole.
constexpr const char* kStyle = R"(
:root{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;line-height:1.45;color:#1d1d1f;background:#fff}
body{margin:0 auto;max-width:60rem;padding:1rem 1.25rem 3rem}
h1{font-size:1.7rem;margin:.5rem 0 .2rem}
h2{font-size:1.2rem;margin:2.2rem 0 .6rem;padding-bottom:.2rem;border-bottom:1px solid #ddd}
p{margin:.4rem 0}
.source{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all;color:#444}
.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(8.5rem,1fr));gap:.5rem;margin:1rem 0;padding:0}
.stats div{border:1px solid #ddd;border-radius:.4rem;padding:.4rem .6rem}
.stats dt{font-size:.78rem;color:#555}
.stats dd{margin:0;font-size:1.35rem;font-weight:600;font-variant-numeric:tabular-nums}
figure{margin:1rem 0}
figure>svg{display:block;width:100%;height:auto;max-width:46rem}
figcaption{font-size:.88rem;color:#444;margin-top:.3rem;max-width:46rem}
svg text{font-size:13px;fill:#333}
svg .axis-title{font-size:13px;fill:#111}
svg .grid line{stroke:#e8e8e8}
svg .axis rect{stroke:#888}
svg .ratio{stroke:#4363d8;stroke-width:1.6}
svg .cumulative{stroke:#e6194b;stroke-width:2.2}
svg .key line:first-child{stroke:#e6194b;stroke-width:2.2}
svg .key line:nth-child(3){stroke:#4363d8;stroke-width:1.6}
svg .level line{stroke:#777;stroke-dasharray:5 4}
svg .k-marker line{stroke:#111;stroke-dasharray:2 3}
svg .k-marker circle{fill:#111}
svg .k-marker text{font-weight:600;fill:#111}
svg .points>*{stroke:#333;stroke-width:.4;fill-opacity:.85}
.legend{list-style:none;padding:0;margin:.5rem 0;display:flex;flex-wrap:wrap;gap:.15rem 1rem;font-size:.85rem}
.legend li{display:flex;align-items:center;gap:.3rem;overflow-wrap:break-word}
.swatch{flex:none;width:12px;height:12px;vertical-align:-1px}
.swatch g>*{stroke:#333;stroke-width:.6}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
th{font-weight:600;border-bottom:1px solid #ccc}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.label{overflow-wrap:break-word;min-width:7rem}
.bar{width:40%;min-width:5rem}
.bar span{display:block;height:.75rem;background:#4363d8;border-radius:2px;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.bar span.chance{background:#a9a9a9}
table.errors td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8rem;word-break:break-all}
.separability{font-size:1.05rem}
.note{color:#555;font-size:.88rem}
@media (max-width:600px){
body{padding:.6rem .6rem 2rem}
h1{font-size:1.35rem}
.stats{grid-template-columns:repeat(2,1fr)}
.stats dd{font-size:1.1rem}
table{font-size:.8rem}
th,td{padding:.2rem .3rem}
.bar{display:none}
}
@media print{
:root{font-size:10pt}
body{max-width:none;padding:0}
h2{break-after:avoid}
figure,tr,.stats div{break-inside:avoid}
.table-wrap{overflow:visible}
}
)";

std::string with_thousands(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, 1, ',');
  if (value < 0) digits.insert(0, 1, '-');
  return digits;
}

std::string percent(double fraction) { return format_tick(100 * fraction, 0.1) + "%"; }

std::string label_name(const std::string& label) { return label.empty() ? "(no label)" : label; }

std::string stat(const std::string& name, const std::string& value) {
  return "<div><dt>" + escape_html(name) + "</dt><dd>" + escape_html(value) + "</dd></div>";
}

std::string bar(double fraction, const std::string& css_class = "") {
  return "<td class=\"bar\"><span" + (css_class.empty() ? "" : " class=\"" + css_class + "\"") +
         " style=\"width:" + format_coordinate(100 * std::clamp(fraction, 0.0, 1.0)) +
         "%\"></span></td>";
}

double cumulative_at(const ReportData& data, int k) {
  double sum = 0;
  for (int i = 0; i < k && i < static_cast<int>(data.explained_variance_ratio.size()); ++i) {
    sum += data.explained_variance_ratio[i];
  }
  return sum;
}

bool has_neighbours(const ReportData& data) { return data.neighbours.rows > 0; }

double agreement(const NeighbourAgreement& n) {
  return static_cast<double>(n.matches) / static_cast<double>(n.rows);
}

std::string summary_section(const ReportData& data) {
  std::string html = "<header><h1>Pomona feature report</h1><p class=\"source\">" +
                     escape_html(data.features_path) + "</p><dl class=\"stats\">";
  html += stat("rows", with_thousands(data.rows));
  html += stat("good rows", with_thousands(data.rows - data.errors));
  html += stat("error rows", with_thousands(data.errors));
  html += stat("labels", with_thousands(static_cast<int64_t>(data.labels.size())));
  html += stat("feature dimension", std::to_string(data.dim));
  if (data.k > 0) {
    html += stat("PCA components k",
                 std::to_string(data.k) + " (" + percent(cumulative_at(data, data.k)) + ")");
  }
  if (has_neighbours(data))
    html += stat("1-NN label agreement", percent(agreement(data.neighbours)));
  return html + "</dl></header>";
}

std::string labels_section(const ReportData& data) {
  std::string html = "<section id=\"labels\"><h2>Rows per label</h2>";
  if (data.labels.empty()) return html + "<p>No rows.</p></section>";
  int64_t most = 0;
  for (const LabelSummary& label : data.labels) most = std::max(most, label.rows);
  const bool neighbours = has_neighbours(data);
  html +=
      "<div class=\"table-wrap\"><table class=\"labels\"><thead><tr><th>label</th><th "
      "class=\"num\">rows</th><th class=\"bar\"></th><th class=\"num\">errors</th>";
  if (neighbours) html += "<th class=\"num\">1-NN agreement</th>";
  html += "</tr></thead><tbody>";
  for (size_t i = 0; i < data.labels.size(); ++i) {
    const LabelSummary& label = data.labels[i];
    html += "<tr><td class=\"label\">" + legend_swatch_svg(category_style(static_cast<int>(i))) +
            " " + escape_html(label_name(label.label)) + "</td><td class=\"num\">" +
            with_thousands(label.rows) + "</td>" +
            bar(static_cast<double>(label.rows) / static_cast<double>(std::max<int64_t>(most, 1))) +
            "<td class=\"num\">" + with_thousands(label.errors) + "</td>";
    if (neighbours) {
      const int64_t rows = data.neighbours.rows_per_label[i];
      html += "<td class=\"num\">" +
              (rows ? percent(static_cast<double>(data.neighbours.matches_per_label[i]) / rows) +
                          " of " + with_thousands(rows)
                    : std::string("–")) +
              "</td>";
    }
    html += "</tr>";
  }
  return html + "</tbody></table></div></section>";
}

std::string errors_section(const ReportData& data) {
  std::string html = "<section id=\"errors\"><h2>Error rows</h2>";
  if (data.errors == 0) return html + "<p>No row has an error.</p></section>";
  const int64_t listed = static_cast<int64_t>(data.listed_errors.size());
  html += "<p>" +
          (listed < data.errors ? "The first " + with_thousands(listed) + " of " +
                                      with_thousands(data.errors) + " error rows"
                                : "All " + with_thousands(data.errors) + " error rows") +
          "; each has a null <code>features</code> and is left out of every figure below.</p>";
  html +=
      "<div class=\"table-wrap\"><table class=\"errors\"><thead><tr><th>path</th><th>error</th>"
      "</tr></thead><tbody>";
  for (const ErrorRow& row : data.listed_errors) {
    html +=
        "<tr><td>" + escape_html(row.path) + "</td><td>" + escape_html(row.error) + "</td></tr>";
  }
  return html + "</tbody></table></div></section>";
}

std::string variance_section(const ReportData& data) {
  std::string html = "<section id=\"variance\"><h2>Explained variance</h2>";
  if (data.explained_variance_ratio.empty() || data.k < 1) {
    return html + "<p>No PCA: fewer than two good rows.</p></section>";
  }
  html += "<figure>" + scree_svg(data.explained_variance_ratio, data.k, data.variance_level);
  html += "<figcaption>Share of the variance explained by each of the " +
          with_thousands(static_cast<int64_t>(data.explained_variance_ratio.size())) +
          " principal components (blue) and by the first ones together (red). The first k = " +
          std::to_string(data.k) + " components keep " + percent(cumulative_at(data, data.k)) +
          " of the variance; the dashed line marks " + percent(data.variance_level) + ". PCA " +
          escape_html(data.pca_source) + ", " +
          (data.centered ? "projecting x &minus; mean (centered, as scikit-learn)."
                         : "projecting the raw vector x (as Spark ML).") +
          "</figcaption></figure>";
  return html + "</section>";
}

std::string scatter_section(const ReportData& data) {
  std::string html = "<section id=\"scatter\"><h2>First two principal components</h2>";
  if (data.explained_variance_ratio.size() < 2 || data.scatter.empty()) {
    return html +
           "<p>No scatter: it needs a PCA with at least two components and good "
           "rows.</p></section>";
  }
  const auto& ratio = data.explained_variance_ratio;
  html += "<figure>" + scatter_svg(data.scatter, static_cast<int>(data.labels.size()),
                                   "PC1 (" + percent(ratio[0]) + " of variance)",
                                   "PC2 (" + percent(ratio[1]) + " of variance)");
  html += "<ul class=\"legend\">";
  for (size_t i = 0; i < data.labels.size(); ++i) {
    if (data.labels[i].rows == data.labels[i].errors) continue;  // no point to show
    html += "<li>" + legend_swatch_svg(category_style(static_cast<int>(i))) +
            escape_html(label_name(data.labels[i].label)) + "</li>";
  }
  html += "</ul><figcaption>";
  const int64_t shown = static_cast<int64_t>(data.scatter.size());
  if (shown < data.scatter_population) {
    html += "A sample of " + with_thousands(shown) + " of the " +
            with_thousands(data.scatter_population) + " good rows (at most " +
            with_thousands(data.max_scatter_points) +
            ", chosen by a hash of the path, so the same rows give the same sample).";
  } else {
    html += "All " + with_thousands(shown) + " good rows.";
  }
  html += " Colours repeat with another marker shape after " + std::to_string(kCategoryColours) +
          " labels.</figcaption></figure>";
  return html + "</section>";
}

std::string neighbours_section(const ReportData& data) {
  std::string html = "<section id=\"neighbours\"><h2>Nearest-neighbour label agreement</h2>";
  if (!has_neighbours(data)) {
    return html + "<p>Not computed: it needs a PCA and at least two good rows.</p></section>";
  }
  const NeighbourAgreement& n = data.neighbours;
  const double chance = n.chance_matches / static_cast<double>(n.rows);
  html +=
      "<div class=\"table-wrap\"><table class=\"separability\"><tbody><tr><th>1-NN agreement</th>"
      "<td class=\"num\">" +
      percent(agreement(n)) + "</td>" + bar(agreement(n)) +
      "</tr><tr><th>chance</th><td class=\"num\">" + percent(chance) + "</td>" +
      bar(chance, "chance") + "</tr></tbody></table></div>";
  html += "<p>For each of " + with_thousands(n.rows) +
          " good rows, the nearest other row in the space of the first " +
          std::to_string(data.neighbour_dims) +
          " principal components (Euclidean distance, leave-one-out) has the same label in " +
          percent(agreement(n)) + " of cases; picking the neighbour at random would agree in " +
          percent(chance) +
          ". Values near 100% mean that the labels form separate clusters that even a 1-nearest-"
          "neighbour classifier on these components tells apart; values near chance mean they "
          "overlap.</p>";
  html += "<p class=\"note\">";
  if (n.rows < data.neighbour_population) {
    html +=
        "Computed on a sample of " + with_thousands(n.rows) + " of the " +
        with_thousands(data.neighbour_population) +
        " good rows (chosen by a hash of the path): the comparison of every pair costs O(n&sup2;).";
  } else {
    html +=
        "Computed on all good rows; the comparison of every pair costs O(n&sup2;), so larger "
        "inputs are sampled.";
  }
  return html + " The first min(k, 50) components are used.</p></section>";
}

}  // namespace

std::string render_report_html(const ReportData& data) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width, initial-scale=1\"><title>Pomona report: " +
         escape_html(data.features_path) + "</title><style>" + kStyle + "</style></head><body>" +
         summary_section(data) + "<main>" + labels_section(data) + errors_section(data) +
         variance_section(data) + scatter_section(data) + neighbours_section(data) +
         "</main></body></html>\n";
}

}  // namespace pomona::report
