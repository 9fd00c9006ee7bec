// The report's figures as inline SVG strings. Each SVG has a viewBox and no fixed size, so CSS
// scales it to the page (phone or print); text in it is escaped.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace pomona::report {

// Scree plot: explained variance ratio of every component (one polyline vertex per component,
// class "ratio") and its cumulative sum (class "cumulative") against the component number on a
// log axis, with the chosen k marked (class "k-marker") and the `level` of cumulative variance
// drawn as a dashed line (class "level"). Requires ratio non-empty and 1 <= k <= ratio.size().
std::string scree_svg(std::span<const double> ratio, int k, double level);

// One point of the PCA scatter: the first two components and the index of its label.
struct ScatterPoint {
  float x = 0;
  float y = 0;
  int label = 0;
};

// Scatter of points, one marker per point inside a <g class="points"> per label (fill and shape
// from category_style(label)), axes titled x_title / y_title.
std::string scatter_svg(std::span<const ScatterPoint> points, int label_count,
                        const std::string& x_title, const std::string& y_title);

}  // namespace pomona::report
