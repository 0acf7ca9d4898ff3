// json_safe.h - JSON that crosses capscope's edges, read and written
// without surprises: integers read from outside JSON (profiles, replayed
// streams, OCI configs) without nlohmann's unchecked casts (a float, a
// negative value for an unsigned field or a value out of range is a type
// error, never undefined behaviour), and text written with invalid UTF-8
// (an executable's path or a command line is any bytes) replaced instead of
// throwing.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace capscope {

// The value of `v` as T when it is a JSON integer that T can hold.
template <typename T> std::optional<T> json_integer(const nlohmann::json &v) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  if (v.is_number_unsigned()) {
    auto u = v.get<nlohmann::json::number_unsigned_t>();
    if (u > static_cast<std::make_unsigned_t<T>>(std::numeric_limits<T>::max()))
      return std::nullopt;
    return static_cast<T>(u);
  }
  if (v.is_number_integer()) {
    auto i = v.get<nlohmann::json::number_integer_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (i < 0 || static_cast<std::make_unsigned_t<decltype(i)>>(i) >
                       std::numeric_limits<T>::max())
        return std::nullopt;
    } else {
      if (i < std::numeric_limits<T>::min() ||
          i > std::numeric_limits<T>::max())
        return std::nullopt;
    }
    return static_cast<T>(i);
  }
  return std::nullopt;
}

// Field `name` of object `j` as T: `dflt` when absent, a
// nlohmann::json::type_error when present but not an integer T can hold.
template <typename T>
T json_integer_field(const nlohmann::json &j, const char *name, T dflt) {
  auto it = j.find(name);
  if (it == j.end())
    return dflt;
  auto v = json_integer<T>(*it);
  if (!v)
    throw nlohmann::json::type_error::create(
        302, std::string("field '") + name + "' is not an integer in range",
        nullptr);
  return *v;
}

// j.dump(indent), with bytes that are not UTF-8 replaced by U+FFFD.
inline std::string json_text(const nlohmann::json &j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace capscope
