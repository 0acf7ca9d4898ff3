// duration.h - "30s", "5m", "1h", "250ms", "2" (seconds) to milliseconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace capscope {

std::optional<std::int64_t> parse_duration_ms(std::string_view text);

} // namespace capscope
