// replay.cpp - parsing and replaying recorded check streams.
#include "core/replay.h"

#include <nlohmann/json.hpp>

#include "core/json_safe.h"
#include "core/noise.h"
#include "core/syscalls.h"

namespace capscope {

using nlohmann::json;

CheckClass classify_check(int cap, bool active,
                          const std::vector<std::string> &frames,
                          bool borrowed) {
  if (!active)
    return CheckClass::Setup;
  if (cap >= 0 && cap < 64 && (doubt_caps() & (CapMask{1} << cap))) {
    CheckClass c = class_of_frames(frames);
    if (c != CheckClass::Needed)
      return c;
  }
  return borrowed ? CheckClass::Borrowed : CheckClass::Needed;
}

Result<ReplayedCheck> parse_replay_line(const std::string &line) {
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception &) { // parse_error, out_of_range (1e999)
    return Error{EINVAL, "not a JSON object"};
  }
  if (!j.is_object())
    return Error{EINVAL, "not a JSON object"};
  ReplayedCheck r;
  try {
    auto cap = parse_cap(j.at("cap").get<std::string>());
    if (!cap)
      return Error{EINVAL, "unknown capability '" +
                               j.at("cap").get<std::string>() + "'"};
    std::string sc = j.value("syscall", std::string("none"));
    // Names, not numbers: a line recorded on another architecture ("arch")
    // keeps a syscall this one lacks (foreign_syscall).
    auto nr = foreign_syscall(j.value("arch", std::string()), sc);
    r.key.syscall = nr ? *nr : CS_NO_SYSCALL;
    r.key.cap = static_cast<std::uint8_t>(*cap);
    r.key.denied = j.value("denied", false) ? 1 : 0;
    r.key.scope = json_integer_field<std::uint64_t>(j, "scope", 1);
    r.key.kind = r.key.scope == 1 ? CS_SCOPE_COMMAND : CS_SCOPE_CONTAINER;
    r.ctx.frames = j.value("frames", std::vector<std::string>{});
    r.ctx.exe = j.value("exe", std::string());
    r.ctx.comm = j.value("comm", std::string());
    r.ctx.pid = json_integer_field<std::uint32_t>(j, "pid", 0);
    r.count = json_integer_field<std::uint64_t>(j, "count", 1);
    r.kernel_class = j.value("kernel_class", std::string());
    bool active = j.value("phase", std::string("active")) != "setup";
    bool borrowed = j.value("borrowed", false);
    CheckClass cls = classify_check(*cap, active, r.ctx.frames, borrowed);
    // Moot is decided from the call's arguments, which a stream does not
    // carry: the kernel's word for it is kept.
    if (active && r.kernel_class == class_name(CheckClass::Moot))
      cls = CheckClass::Moot;
    r.key.cls = static_cast<std::uint8_t>(cls);
  } catch (const json::exception &e) {
    return Error{EINVAL, std::string("bad field: ") + e.what()};
  }
  return r;
}

Result<std::size_t>
for_each_replayed(std::istream &in,
                  const std::function<void(const ReplayedCheck &)> &fn) {
  std::string line;
  std::size_t n = 0, lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#')
      continue;
    auto r = parse_replay_line(line);
    if (!r)
      return Error{EINVAL,
                   "line " + std::to_string(lineno) + ": " + r.error().message};
    fn(r.value());
    ++n;
  }
  return n;
}

Result<std::size_t> replay_stream(std::istream &in, Aggregator &agg) {
  std::uint64_t fake_ns = 1;
  return for_each_replayed(in, [&](const ReplayedCheck &c) {
    KeyCount kc;
    kc.key = c.key;
    kc.count = c.count;
    kc.first_ns = kc.last_ns = fake_ns++;
    agg.add_count(kc);
    agg.on_context(c.key, c.ctx);
  });
}

std::string replay_line(const cs_key &key, const CheckContext &ctx,
                        std::uint64_t count) {
  json j;
  j["cap"] = cap_name(key.cap);
  j["denied"] = key.denied != 0;
  j["syscall"] = syscall_name(key.syscall);
  j["arch"] = syscall_arch();
  j["phase"] = key.cls == CS_CLASS_SETUP ? "setup" : "active";
  j["frames"] = ctx.frames;
  j["exe"] = ctx.exe;
  j["comm"] = ctx.comm;
  j["pid"] = ctx.pid;
  j["count"] = count;
  j["scope"] = key.scope;
  j["borrowed"] = key.cls == CS_CLASS_BORROWED;
  auto kernel = static_cast<CheckClass>(key.cls);
  j["kernel_class"] = class_name(kernel);
  j["class"] = class_name(live_class(kernel, ctx.frames));
  return json_text(j);
}

} // namespace capscope
