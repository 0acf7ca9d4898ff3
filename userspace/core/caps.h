// caps.h - the 41 Linux capabilities: names, numbers, masks and what each
// one means. The knowledge base is data (caps.cpp), not scattered ifs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace capscope {

// Capability numbers by name (linux/capability.h), so code says kSysAdmin,
// never 21. Defined once here; every other file includes this header.
inline constexpr int kChown = 0;
inline constexpr int kDacOverride = 1;
inline constexpr int kDacReadSearch = 2;
inline constexpr int kFowner = 3;
inline constexpr int kFsetid = 4;
inline constexpr int kKill = 5;
inline constexpr int kSetgid = 6;
inline constexpr int kSetuid = 7;
inline constexpr int kSetpcap = 8;
inline constexpr int kLinuxImmutable = 9;
inline constexpr int kNetBindService = 10;
inline constexpr int kNetBroadcast = 11;
inline constexpr int kNetAdmin = 12;
inline constexpr int kNetRaw = 13;
inline constexpr int kIpcLock = 14;
inline constexpr int kIpcOwner = 15;
inline constexpr int kSysModule = 16;
inline constexpr int kSysRawio = 17;
inline constexpr int kSysChroot = 18;
inline constexpr int kSysPtrace = 19;
inline constexpr int kSysPacct = 20;
inline constexpr int kSysAdmin = 21;
inline constexpr int kSysBoot = 22;
inline constexpr int kSysNice = 23;
inline constexpr int kSysResource = 24;
inline constexpr int kSysTime = 25;
inline constexpr int kSysTtyConfig = 26;
inline constexpr int kMknod = 27;
inline constexpr int kLease = 28;
inline constexpr int kAuditWrite = 29;
inline constexpr int kAuditControl = 30;
inline constexpr int kSetfcap = 31;
inline constexpr int kMacOverride = 32;
inline constexpr int kMacAdmin = 33;
inline constexpr int kSyslog = 34;
inline constexpr int kWakeAlarm = 35;
inline constexpr int kBlockSuspend = 36;
inline constexpr int kAuditRead = 37;
inline constexpr int kPerfmon = 38;
inline constexpr int kBpf = 39;
inline constexpr int kCheckpointRestore = 40;

// The mask with one capability's bit set.
constexpr std::uint64_t cap_bit(int cap) { return std::uint64_t{1} << cap; }

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
