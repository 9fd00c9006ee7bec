// Small building blocks of the report's inline SVG: escaping, scales, axis ticks, markers.
// Everything here returns strings; nothing touches files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pomona::report {

// Text made safe for HTML/SVG element content and attribute values: & < > " ' become entities.
// Labels and paths are user data, so every piece of data goes through this.
std::string escape_html(std::string_view text);

// "Nice" tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi] with about
// `target` ticks, all inside [lo, hi]. lo == hi gives that one value.
std::vector<double> nice_ticks(double lo, double hi, int target);

// Powers of ten inside [lo, hi] (lo > 0), for a log axis.
std::vector<double> log10_ticks(double lo, double hi);

// A tick label: as few decimals as `step` needs (step 0.05 -> "0.15"), no "-0".
std::string format_tick(double value, double step);

// A number for a figure's coordinate attribute: at most 2 decimals, no trailing zeros.
std::string format_coordinate(double value);

// Maps [domain_lo, domain_hi] linearly onto [range_lo, range_hi]; a degenerate domain maps to the
// middle of the range.
class LinearScale {
 public:
  LinearScale(double domain_lo, double domain_hi, double range_lo, double range_hi);
  double operator()(double value) const;

 private:
  double domain_lo_, domain_span_, range_lo_, range_span_;
};

// Maps [domain_lo, domain_hi] (both > 0) onto [range_lo, range_hi] by log10.
class Log10Scale {
 public:
  Log10Scale(double domain_lo, double domain_hi, double range_lo, double range_hi);
  double operator()(double value) const;

 private:
  LinearScale linear_;
};

// How the n-th category is drawn: 20 colours that stay apart from each other, then the colours
// again with the next shape (circle, square, triangle, diamond), so 80 labels stay distinct.
struct CategoryStyle {
  std::string colour;  // "#rrggbb"
  int shape;           // 0 circle, 1 square, 2 triangle, 3 diamond
};
CategoryStyle category_style(int index);
inline constexpr int kCategoryColours = 20;

// One marker centred on (x, y) with the given half-size, without fill (its group sets it).
std::string marker_svg(int shape, double x, double y, double half_size);

// A small standalone inline SVG showing one category's marker, for legends in HTML.
std::string legend_swatch_svg(const CategoryStyle& style);

}  // namespace pomona::report
