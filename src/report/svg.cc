#include "svg.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace pomona::report {

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

// A tick step of factor (1, 2, 5 or 10) times 10^exponent, the one whose tick count comes closest
// to the target (the rule of d3-array's ticks()).
struct Step {
  double factor;
  int exponent;

  // i * step, computed so that decimal steps give the nearest double ("0.6", not
  // 0.6000000000000001).
  double times(double i) const {
    return exponent < 0 ? i * factor / std::pow(10.0, -exponent)
                        : i * factor * std::pow(10.0, exponent);
  }
};

Step nice_step(double raw_step) {
  const int exponent = static_cast<int>(std::floor(std::log10(raw_step)));
  const double error = raw_step / std::pow(10.0, exponent);
  const double factor = error >= std::sqrt(50.0)   ? 10
                        : error >= std::sqrt(10.0) ? 5
                        : error >= std::sqrt(2.0)  ? 2
                                                   : 1;
  return {factor, exponent};
}

std::string strip_trailing_zeros(std::string text) {
  if (text.find('.') != std::string::npos) {
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.') text.pop_back();
  }
  if (text == "-0") text = "0";
  return text;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) return {lo};
  const Step step = nice_step((hi - lo) / std::max(target, 1));
  const double size = step.times(1);
  std::vector<double> ticks;
  // Tolerance so that a bound that is itself a multiple of the step is kept despite rounding.
  const double tolerance = size * 1e-9;
  for (double i = std::ceil((lo - tolerance) / size); step.times(i) <= hi + tolerance; ++i) {
    ticks.push_back(step.times(i) + 0.0);  // + 0.0 turns -0 into 0
  }
  return ticks;
}

std::vector<double> log10_ticks(double lo, double hi) {
  std::vector<double> ticks;
  if (!(lo > 0) || !(hi >= lo)) return ticks;
  for (int e = static_cast<int>(std::ceil(std::log10(lo) - 1e-9));
       std::pow(10.0, e) <= hi * (1 + 1e-9); ++e) {
    ticks.push_back(std::pow(10.0, e));
  }
  return ticks;
}

std::string format_tick(double value, double step) {
  const int decimals =
      step > 0 ? std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9))) : 0;
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  std::string result = text;
  // Rounding can leave "-0.0"; a tick at zero has no sign.
  if (result.front() == '-' && result.find_first_not_of("-0.") == std::string::npos) {
    result.erase(0, 1);
  }
  return result;
}

std::string format_coordinate(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.2f", value);
  return strip_trailing_zeros(text);
}

LinearScale::LinearScale(double domain_lo, double domain_hi, double range_lo, double range_hi)
    : domain_lo_(domain_lo),
      domain_span_(domain_hi - domain_lo),
      range_lo_(range_lo),
      range_span_(range_hi - range_lo) {}

double LinearScale::operator()(double value) const {
  if (domain_span_ == 0) return range_lo_ + range_span_ / 2;
  return range_lo_ + (value - domain_lo_) / domain_span_ * range_span_;
}

Log10Scale::Log10Scale(double domain_lo, double domain_hi, double range_lo, double range_hi)
    : linear_(std::log10(domain_lo), std::log10(domain_hi), range_lo, range_hi) {}

double Log10Scale::operator()(double value) const { return linear_(std::log10(value)); }

CategoryStyle category_style(int index) {
  // Trubetskoy's "20 distinct colours", darkest first so that few labels get strong colours; the
  // pale ones last, drawn with a dark outline (see the report's CSS) to stay visible on white.
  static constexpr std::array<const char*, kCategoryColours> kColours = {
      "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
      "#bfef45", "#469990", "#9a6324", "#800000", "#808000", "#000075", "#a9a9a9",
      "#ffe119", "#000000", "#fabed4", "#aaffc3", "#dcbeff", "#ffd8b1"};
  constexpr int kShapes = 4;
  return {kColours[index % kCategoryColours], (index / kCategoryColours) % kShapes};
}

std::string marker_svg(int shape, double x, double y, double half_size) {
  const std::string cx = format_coordinate(x), cy = format_coordinate(y);
  const std::string r = format_coordinate(half_size);
  switch (shape) {
    case 1:
      return "<rect x=\"" + format_coordinate(x - half_size) + "\" y=\"" +
             format_coordinate(y - half_size) + "\" width=\"" + format_coordinate(2 * half_size) +
             "\" height=\"" + format_coordinate(2 * half_size) + "\"/>";
    case 2:
      return "<path d=\"M" + cx + " " + format_coordinate(y - 1.2 * half_size) + "L" +
             format_coordinate(x + 1.1 * half_size) + " " + format_coordinate(y + 0.9 * half_size) +
             "H" + format_coordinate(x - 1.1 * half_size) + "Z\"/>";
    case 3:
      return "<path d=\"M" + cx + " " + format_coordinate(y - 1.3 * half_size) + "L" +
             format_coordinate(x + 1.3 * half_size) + " " + cy + "L" + cx + " " +
             format_coordinate(y + 1.3 * half_size) + "L" + format_coordinate(x - 1.3 * half_size) +
             " " + cy + "Z\"/>";
    default:
      return "<circle cx=\"" + cx + "\" cy=\"" + cy + "\" r=\"" + r + "\"/>";
  }
}

std::string legend_swatch_svg(const CategoryStyle& style) {
  return "<svg class=\"swatch\" viewBox=\"0 0 12 12\" width=\"12\" height=\"12\" "
         "aria-hidden=\"true\">"
         "<g fill=\"" +
         std::string(style.colour) + "\">" + marker_svg(style.shape, 6, 6, 4.5) + "</g></svg>";
}

}  // namespace pomona::report
