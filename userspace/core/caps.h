// caps.h - the 41 Linux capabilities: names, numbers, masks and what each
// one means. The knowledge base is data (caps.cpp), not scattered ifs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace capscope {

inline constexpr int kCapCount = 41; // 0..40, CAP_CHECKPOINT_RESTORE last
using CapMask = std::uint64_t;

struct CapInfo {
  int number;
  std::string_view name;    // without the CAP_ prefix: "NET_BIND_SERVICE"
  std::string_view meaning; // one line, our own words
  bool docker_default;      // in Docker's default set of 14
  std::string_view risk;    // one line: what an attacker gets with it
};

// Every capability, indexed by number.
const std::vector<CapInfo> &all_caps();
const CapInfo *cap_info(int number); // nullptr when out of range

// "CHOWN" (no prefix) for known numbers, "CAP_63" style otherwise.
std::string cap_name(int number);

// Accepts "chown", "CAP_CHOWN", "Cap_Chown"; nullopt when unknown.
std::optional<int> parse_cap(std::string_view text);

// Comma-separated list ("" is the empty set). On an unknown name returns
// nullopt and sets *error to a one-line message listing the valid names.
std::optional<CapMask> parse_cap_list(std::string_view text,
                                      std::string *error);

std::vector<int> caps_in(CapMask mask); // ascending numbers
std::vector<std::string> cap_names(CapMask mask);

// Docker's default set (14 capabilities).
CapMask docker_default_mask();
// Every defined capability (bits 0..40).
CapMask all_caps_mask();

// "00000000a80425fb" or "0xa80425fb" -> mask; nullopt on bad hex.
std::optional<CapMask> parse_hex_mask(std::string_view text);

// The comma-joined list of valid names, for error messages.
std::string valid_cap_names();

} // namespace capscope
