// kallsyms.cpp - /proc/kallsyms parsing, address resolution, call sites.
#include "core/kallsyms.h"
#include "core/text.h"

#include <cstdio>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

namespace capscope {

Kallsyms Kallsyms::parse(std::string_view text) {
  Kallsyms k;
  for_each_line(text, [&](std::string_view line) {
    // "ffffffff81a80900 T cap_capable [module]"
    std::size_t s1 = line.find(' ');
    if (s1 == std::string_view::npos || s1 + 3 > line.size())
      return;
    char type = line[s1 + 1];
    std::string_view rest = line.substr(s1 + 3);
    std::size_t end = rest.find_first_of(" \t");
    std::string_view name = rest.substr(0, end);
    bool image_end = name == "_end" && end == std::string_view::npos;
    if (type != 't' && type != 'T' && !image_end)
      return;
    std::uint64_t addr = 0;
    try {
      addr = std::stoull(std::string(line.substr(0, s1)), nullptr, 16);
    } catch (...) {
      return;
    }
    if (addr == 0)
      return;
    if (image_end) {
      k.image_end_ = addr;
      return;
    }
    // "name\t[module]"; [bpf] and [__builtin__*] tag BPF programs and
    // trampolines, which are not modules.
    if (end != std::string_view::npos) {
      std::string_view tag = rest.substr(end + 1);
      if (tag.find("[bpf]") == std::string_view::npos &&
          tag.find("[__builtin") == std::string_view::npos)
        k.module_syms_ = true;
    }
    k.syms_.push_back({addr, static_cast<std::uint32_t>(k.names_.size()),
                       static_cast<std::uint32_t>(name.size())});
    k.names_.append(name);
  });
  std::sort(k.syms_.begin(), k.syms_.end(),
            [](const Symbol &a, const Symbol &b) { return a.addr < b.addr; });
  return k;
}

Kallsyms Kallsyms::load(const std::string &path, const std::string &modules) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  Kallsyms k = parse(ss.str());
  k.syms_.shrink_to_fit();
  k.names_.shrink_to_fit();
  std::ifstream min(modules);
  std::stringstream ms;
  ms << min.rdbuf();
  k.set_modules(ms.str());
  return k;
}

void Kallsyms::set_modules(std::string_view text) {
  modules_.clear();
  for_each_line(text, [&](std::string_view l) {
    std::string line(l);
    char name[128];
    unsigned long long size = 0, addr = 0;
    // name size refcount deps state address [taint]
    if (std::sscanf(line.c_str(), "%127s %llu %*s %*s %*s 0x%llx", name, &size,
                    &addr) == 3 &&
        addr && size)
      modules_.emplace_back(addr, addr + size);
  });
}

std::string_view Kallsyms::resolve(std::uint64_t addr,
                                   std::uint64_t *offset) const {
  auto it = std::upper_bound(
      syms_.begin(), syms_.end(), addr,
      [](std::uint64_t a, const Symbol &s) { return a < s.addr; });
  if (it == syms_.begin())
    return {};
  --it;
  // Addresses past the end of kernel text (BPF programs and trampolines,
  // when not listed) would otherwise land on an end marker.
  std::string_view name = name_of(*it);
  if (name == "_etext" || name == "_einittext" || name == "__init_end" ||
      name == "_end")
    return {};
  // Past the kernel image (vmlinux's _end), only a module's text is text:
  // BPF programs and trampolines live there too, and would otherwise take
  // the name of the highest function below them (a module's last, or a
  // built-in's exit function).
  bool in_module = false;
  for (const auto &[lo, hi] : modules_) {
    if (it->addr >= lo && it->addr < hi && addr >= hi)
      return {};
    in_module |= addr >= lo && addr < hi;
  }
  // (Modules listed in kallsyms whose addresses /proc/modules hid: no
  // bound to apply.)
  if (image_end_ && addr >= image_end_ && !in_module &&
      !(modules_.empty() && module_syms_))
    return {};
  if (offset)
    *offset = addr - it->addr;
  return name;
}

bool Kallsyms::range(std::string_view name, std::uint64_t *start,
                     std::uint64_t *end) const {
  for (std::size_t i = 0; i < syms_.size(); ++i) {
    if (name_of(syms_[i]) != name)
      continue;
    *start = syms_[i].addr;
    std::size_t j = i + 1;
    while (j < syms_.size() && syms_[j].addr == syms_[i].addr)
      ++j;
    // The last symbol spans one byte (none at the very top of the address
    // space, where one more would wrap).
    std::uint64_t a = syms_[i].addr;
    *end = j < syms_.size() ? syms_[j].addr : a == UINT64_MAX ? a : a + 1;
    return true;
  }
  return false;
}

bool is_wrapper_frame(std::string_view fn) {
  static constexpr std::array<std::string_view, 25> kWrappers = {
      "cap_capable",
      "cap_capable_helper",
      "security_capable",
      "ns_capable",
      "ns_capable_common",
      "ns_capable_noaudit",
      "ns_capable_setid",
      "capable",
      "capable_wrt_inode_uidgid",
      "privileged_wrt_inode_uidgid",
      "has_ns_capability",
      "has_ns_capability_noaudit",
      "has_capability",
      "has_capability_noaudit",
      "file_ns_capable",
      "sk_ns_capable",
      "sk_capable",
      "sk_net_capable",
      "netlink_ns_capable",
      "netlink_capable",
      "netlink_net_capable",
      "cap_vm_enough_memory",
      "bpf_capable",
      "bpf_token_capable",
      "perfmon_capable",
  };
  std::size_t dot = fn.find('.');
  if (dot != std::string_view::npos)
    fn = fn.substr(0, dot); // "ns_capable.cold", "foo.isra.0"
  for (auto w : kWrappers)
    if (fn == w)
      return true;
  // The tracepoint and BPF machinery between cap_capable and the program.
  // Only the tracing path itself: bpf_prog_load and friends are real
  // call sites of bpf(2) checks.
  return fn.starts_with("bpf_trace_") || fn.starts_with("__bpf_trace_") ||
         fn.starts_with("bpf_prog_run") || fn.starts_with("__traceiter_") ||
         fn.starts_with("perf_trace_") || fn.starts_with("trace_event_raw_") ||
         (fn.starts_with("bpf_prog_") && fn.size() > 25 &&
          fn.find('_', 9) == 25) || // bpf_prog_<16 hex tag>_<name>
         fn.empty();
}

std::string call_site_of(const std::vector<std::string> &frames) {
  for (const auto &f : frames)
    if (!is_wrapper_frame(f))
      return f;
  return {};
}

} // namespace capscope
