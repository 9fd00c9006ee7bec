#include "charts.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "svg.h"

namespace pomona::report {
namespace {

// A figure's viewBox and the rectangle inside it where data is drawn.
struct Frame {
  double width, height;
  double left, top, right, bottom;  // plot rectangle in viewBox units
};

std::string open_svg(const Frame& frame, const std::string& css_class, const std::string& title) {
  return "<svg class=\"" + css_class + "\" viewBox=\"0 0 " + format_coordinate(frame.width) + " " +
         format_coordinate(frame.height) + "\" role=\"img\" aria-label=\"" + escape_html(title) +
         "\" xmlns=\"http://www.w3.org/2000/svg\"><title>" + escape_html(title) + "</title>";
}

std::string line(double x1, double y1, double x2, double y2) {
  return "<line x1=\"" + format_coordinate(x1) + "\" y1=\"" + format_coordinate(y1) + "\" x2=\"" +
         format_coordinate(x2) + "\" y2=\"" + format_coordinate(y2) + "\"/>";
}

std::string text(double x, double y, const std::string& anchor, const std::string& content,
                 const std::string& extra = "") {
  return "<text x=\"" + format_coordinate(x) + "\" y=\"" + format_coordinate(y) +
         "\" text-anchor=\"" + anchor + "\"" + extra + ">" + escape_html(content) + "</text>";
}

using Scale = std::function<double(double)>;
using TickLabel = std::function<std::string(double)>;

// Grid lines, tick labels and titles of both axes, and the plot's border.
std::string axes(const Frame& frame, const std::vector<double>& x_ticks, const Scale& x,
                 const TickLabel& x_label, const std::vector<double>& y_ticks, const Scale& y,
                 const TickLabel& y_label, const std::string& x_title, const std::string& y_title) {
  std::string grid = "<g class=\"grid\">", labels = "<g class=\"tick-labels\">";
  for (double tick : x_ticks) {
    grid += line(x(tick), frame.top, x(tick), frame.bottom);
    labels += text(x(tick), frame.bottom + 16, "middle", x_label(tick));
  }
  for (double tick : y_ticks) {
    grid += line(frame.left, y(tick), frame.right, y(tick));
    labels += text(frame.left - 6, y(tick) + 4, "end", y_label(tick));
  }
  const double middle_y = (frame.top + frame.bottom) / 2;
  return grid + "</g>" + labels + "</g><g class=\"axis\"><rect x=\"" +
         format_coordinate(frame.left) + "\" y=\"" + format_coordinate(frame.top) + "\" width=\"" +
         format_coordinate(frame.right - frame.left) + "\" height=\"" +
         format_coordinate(frame.bottom - frame.top) + "\" fill=\"none\"/></g>" +
         text((frame.left + frame.right) / 2, frame.height - 6, "middle", x_title,
              " class=\"axis-title\"") +
         text(14, middle_y, "middle", y_title,
              " class=\"axis-title\" transform=\"rotate(-90 14 " + format_coordinate(middle_y) +
                  ")\"");
}

std::string polyline(const std::string& css_class, std::span<const double> values, const Scale& x,
                     const Scale& y) {
  std::string points;
  points.reserve(values.size() * 14);
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) points += ' ';
    points +=
        format_coordinate(x(static_cast<double>(i + 1))) + "," + format_coordinate(y(values[i]));
  }
  return "<polyline class=\"" + css_class + "\" fill=\"none\" points=\"" + points + "\"/>";
}

std::string percent(double fraction, int decimals) {
  return format_tick(100 * fraction, std::pow(10.0, -decimals)) + "%";
}

// Padded [min, max] of one coordinate so that markers do not sit on the border.
std::pair<double, double> padded_extent(std::span<const ScatterPoint> points,
                                        float ScatterPoint::*axis) {
  if (points.empty()) return {-1, 1};
  double lo = points.front().*axis, hi = lo;
  for (const ScatterPoint& point : points) {
    lo = std::min<double>(lo, point.*axis);
    hi = std::max<double>(hi, point.*axis);
  }
  const double pad = hi > lo ? 0.04 * (hi - lo) : 1.0;
  return {lo - pad, hi + pad};
}

}  // namespace

std::string scree_svg(std::span<const double> ratio, int k, double level) {
  const Frame frame{560, 320, 56, 14, 544, 272};
  const double components = static_cast<double>(ratio.size());
  // A log axis gives the first components, where the choice of k happens, most of the width.
  const Log10Scale log_x(1, std::max(components, 2.0), frame.left, frame.right);
  const Scale x = [&](double v) { return log_x(v); };
  const LinearScale linear_y(0, 1, frame.bottom, frame.top);
  const Scale y = [&](double v) { return linear_y(v); };
  const std::vector<double> y_ticks = nice_ticks(0, 1, 5);

  std::vector<double> cumulative(ratio.size());
  double sum = 0;
  for (size_t i = 0; i < ratio.size(); ++i) cumulative[i] = sum += ratio[i];

  const std::string title =
      "Explained variance per component and cumulative, k = " + std::to_string(k);
  std::string svg = open_svg(frame, "scree", title);
  svg += axes(
      frame, log10_ticks(1, components), x, [](double v) { return format_tick(v, 1); }, y_ticks, y,
      [](double v) { return percent(v, 0); }, "principal component (log scale)",
      "explained variance");
  svg += "<g class=\"level\">" + line(frame.left, y(level), frame.right, y(level)) +
         text(frame.left + 6, y(level) - 5, "start", percent(level, 1) + " of variance") + "</g>";
  svg += polyline("ratio", ratio, x, y);
  svg += polyline("cumulative", cumulative, x, y);
  const double k_x = x(k), k_y = y(cumulative[k - 1]);
  const bool label_left = k_x > (frame.left + frame.right) / 2;
  svg += "<g class=\"k-marker\">" + line(k_x, frame.bottom, k_x, frame.top) + "<circle cx=\"" +
         format_coordinate(k_x) + "\" cy=\"" + format_coordinate(k_y) + "\" r=\"4\"/>" +
         text(k_x + (label_left ? -6 : 6), std::min(k_y + 18, frame.bottom - 6),
              label_left ? "end" : "start",
              "k = " + std::to_string(k) + " (" + percent(cumulative[k - 1], 1) + ")") +
         "</g>";
  // The key sits bottom right, where the cumulative curve is near 100% and the ratios near 0.
  const double key_x = frame.right - 140, key_y = frame.bottom - 44;
  svg += "<g class=\"key\">" + line(key_x, key_y, key_x + 24, key_y) +
         text(key_x + 30, key_y + 4, "start", "cumulative") +
         line(key_x, key_y + 18, key_x + 24, key_y + 18) +
         text(key_x + 30, key_y + 22, "start", "per component") + "</g>";
  return svg + "</svg>";
}

std::string scatter_svg(std::span<const ScatterPoint> points, int label_count,
                        const std::string& x_title, const std::string& y_title) {
  const Frame frame{560, 440, 56, 12, 548, 396};
  const auto [x_lo, x_hi] = padded_extent(points, &ScatterPoint::x);
  const auto [y_lo, y_hi] = padded_extent(points, &ScatterPoint::y);
  const LinearScale linear_x(x_lo, x_hi, frame.left, frame.right);
  const LinearScale linear_y(y_lo, y_hi, frame.bottom, frame.top);
  const Scale x = [&](double v) { return linear_x(v); };
  const Scale y = [&](double v) { return linear_y(v); };
  const std::vector<double> x_ticks = nice_ticks(x_lo, x_hi, 6);
  const std::vector<double> y_ticks = nice_ticks(y_lo, y_hi, 6);
  const double x_step = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1;
  const double y_step = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1;

  std::string svg = open_svg(frame, "scatter", "Scatter of " + x_title + " and " + y_title);
  svg += axes(
      frame, x_ticks, x, [&](double v) { return format_tick(v, x_step); }, y_ticks, y,
      [&](double v) { return format_tick(v, y_step); }, x_title, y_title);
  std::vector<std::string> groups(label_count);
  for (const ScatterPoint& point : points) {
    groups[point.label] +=
        marker_svg(category_style(point.label).shape, x(point.x), y(point.y), 2.6);
  }
  for (int label = 0; label < label_count; ++label) {
    if (groups[label].empty()) continue;
    svg += "<g class=\"points\" data-label=\"" + std::to_string(label) + "\" fill=\"" +
           category_style(label).colour + "\">" + groups[label] + "</g>";
  }
  return svg + "</svg>";
}

}  // namespace pomona::report
