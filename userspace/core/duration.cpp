// duration.cpp - parsing of --duration style values.
#include "core/duration.h"

#include <cctype>
#include <string>

namespace capscope {

std::optional<std::int64_t> parse_duration_ms(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0)
    return std::nullopt;
  double value;
  try {
    std::size_t used = 0;
    value = std::stod(std::string(text.substr(0, i)), &used);
    if (used != i)
      return std::nullopt;
  } catch (...) {
    return std::nullopt;
  }
  std::string_view unit = text.substr(i);
  double scale;
  if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m")
    scale = 60000;
  else if (unit == "h")
    scale = 3600000;
  else
    return std::nullopt;
  double ms = value * scale;
  if (ms < 1 || ms > 1e12) // under a millisecond would read as "no limit"

    return std::nullopt;
  return static_cast<std::int64_t>(ms);
}

} // namespace capscope
