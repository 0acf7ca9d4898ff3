// test_formats_either_or.cpp - call sites that accept either of two
// capabilities: the table, and the advice it leads to, on profiles shaped
// as the kernel makes them (measured on 6.18 where triggerable, see
// core/either_or.cpp and tests/privileged/test_formats.sh).
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "core/caps.h"
#include "core/either_or.h"
#include "core/format.h"
#include "support.h"

using namespace capscope;
using namespace capscope::test;

namespace {

void seen(Profile &p, int cap, const std::string &site, std::uint64_t granted,
          std::uint64_t denied, const std::string &syscall = "x") {
  add_check(p, cap, CheckClass::Needed, granted, denied, {syscall}, {site},
            {"/usr/bin/w"});
}
} // namespace

TEST_CASE("the either/or table is well formed", "[either_or]") {
  std::set<std::tuple<std::string_view, int, int>> rows;
  for (const auto &e : either_or_sites()) {
    INFO(e.call_site);
    CHECK_FALSE(e.call_site.empty());
    CHECK(cap_info(e.broader) != nullptr);
    CHECK(cap_info(e.narrower) != nullptr);
    CHECK(e.broader != e.narrower);
    CHECK_FALSE(e.action.empty());
    CHECK_FALSE(e.source.empty());
    CHECK_FALSE(e.kernels.empty());
    CHECK(rows.insert({e.call_site, e.broader, e.narrower}).second);
  }
  // The pairs the kernel source and 6.18 showed.
  auto has = [](std::string_view site, int b, int n, bool first) {
    for (const auto &e : either_or_sites())
      if (e.call_site == site && e.broader == b && e.narrower == n &&
          e.broader_first == first)
        return true;
    return false;
  };
  CHECK(has("ioprio_check_cap", kSysAdmin, kSysNice, true));
  CHECK(has("generic_permission", kDacOverride, kDacReadSearch, false));
  CHECK(has("map_create", kSysAdmin, kBpf, false));
  CHECK(has("bpf_prog_load", kSysAdmin, kBpf, false));
  CHECK(has("perf_allow_kernel", kSysAdmin, kPerfmon, false));
  CHECK(has("pid_ns_ctl_handler", kSysAdmin, kCheckpointRestore, false));
  CHECK(has("sk_setsockopt", kNetAdmin, kNetRaw, false));
  CHECK(has("copy_process", kSysAdmin, kSysResource, false));
  CHECK(has("check_syslog_permissions", kSysAdmin, kSyslog, false));
}

TEST_CASE("every either/or row turns the broad capability into the narrow one",
          "[either_or]") {
  for (const auto &e : either_or_sites()) {
    std::string site(e.call_site);
    INFO(site << ": " << cap_name(e.broader) << " -> " << cap_name(e.narrower));
    Profile p;
    if (e.broader_first) {
      // A run with every capability: only the broad one is asked.
      seen(p, e.broader, site, 1, 0);
    } else {
      // A run without the narrow one: refused, then the broad one granted.
      seen(p, e.narrower, site, 0, 1);
      seen(p, e.broader, site, 1, 0);
    }
    FinalAdvice a = final_advice(p);
    CHECK(a.add == cap_bit(e.narrower));
    CHECK(a.denied == 0);
    REQUIRE(a.narrowed.size() == 1);
    CHECK(a.narrowed[0].broader == e.broader);
    CHECK(a.narrowed[0].broader_first == e.broader_first);
  }
}

TEST_CASE("ionice -c 1 as root is advised SYS_NICE, not SYS_ADMIN",
          "[either_or]") {
  // Measured on 6.18: SYS_ADMIN granted in ioprio_check_cap, SYS_NICE never
  // asked.
  Profile p;
  seen(p, kSysAdmin, "ioprio_check_cap", 1, 0, "ioprio_set");
  CHECK(advise(p).add == cap_bit(kSysAdmin)); // the raw checks
  CHECK(final_advice(p).add == cap_bit(kSysNice));
  CHECK(render(p, Format::Docker) == "--cap-drop=ALL --cap-add=SYS_NICE\n");
  std::string r = render_report(p, {});
  INFO(r);
  CHECK(contains(r, "  SYS_NICE: "));
  CHECK(contains(r, "    instead of SYS_ADMIN: at ioprio_check_cap the kernel "
                    "accepts either, asking for SYS_ADMIN first"));
  CHECK_FALSE(contains(r, "WARNING: SYS_ADMIN"));
}

TEST_CASE("SYS_ADMIN stays when another call site needs it", "[either_or]") {
  Profile p;
  seen(p, kSysAdmin, "ioprio_check_cap", 1, 0, "ioprio_set");
  seen(p, kSysAdmin, "path_mount", 1, 0, "mount");
  FinalAdvice a = final_advice(p);
  CHECK(a.add == cap_bit(kSysAdmin));
  CHECK(a.narrowed.empty());
  std::string r = render_report(p, {});
  INFO(r);
  CHECK(contains(r, "WARNING: SYS_ADMIN is in the advice."));
  CHECK(contains(r, "ioprio_check_cap: the kernel also accepts SYS_NICE here"));
  CHECK(contains(r, "path_mount: mount(2): mount from outside instead"));
}

TEST_CASE("a broad capability granted at a narrower-first site without the "
          "narrow one refused stays",
          "[either_or]") {
  // SYS_ADMIN at map_create with BPF never asked cannot be a fallback for
  // BPF: there is no evidence, so nothing is narrowed.
  Profile p;
  seen(p, kSysAdmin, "map_create", 1, 0, "bpf");
  CHECK(final_advice(p).add == cap_bit(kSysAdmin));
}

TEST_CASE("bpf without CAP_BPF: BPF refused then SYS_ADMIN granted is BPF",
          "[either_or]") {
  // Measured on 6.18 (setpriv --bounding-set=-bpf, BPF_PROG_LOAD).
  Profile p;
  for (const char *site :
       {"bpf_prog_load", "bpf_check", "bpf_prog_kallsyms_add"}) {
    seen(p, kBpf, site, 0, 1, "bpf");
    seen(p, kSysAdmin, site, 1, 0, "bpf");
  }
  seen(p, kPerfmon, "bpf_check", 4, 0, "bpf");
  FinalAdvice a = final_advice(p);
  CHECK(a.add == (cap_bit(kBpf) | cap_bit(kPerfmon)));
  CHECK(a.denied == 0);
  CHECK(a.recovered == cap_bit(kBpf));
  std::string r = render_report(p, {});
  INFO(r);
  CHECK_FALSE(contains(r, "WARNING: denied"));
  CHECK(contains(r, "and fell back to SYS_ADMIN because BPF was missing"));
}

TEST_CASE("DAC_OVERRIDE after a DAC_READ_SEARCH refusal is a read: "
          "DAC_READ_SEARCH",
          "[either_or]") {
  // podman's default set has DAC_OVERRIDE but not DAC_READ_SEARCH: reading
  // another user's 0600 file shows one refused and the other granted.
  Profile p;
  seen(p, kDacReadSearch, "generic_permission", 0, 1, "openat");
  seen(p, kDacOverride, "generic_permission", 1, 0, "openat");
  FinalAdvice a = final_advice(p);
  CHECK(a.add == cap_bit(kDacReadSearch));
  CHECK(a.denied == 0);
  // Under every capability the same read shows DAC_READ_SEARCH granted:
  // the same advice.
  Profile all;
  seen(all, kDacReadSearch, "generic_permission", 1, 0, "openat");
  CHECK(final_advice(all).add == cap_bit(kDacReadSearch));
}

TEST_CASE("more DAC_OVERRIDE than DAC_READ_SEARCH refusals means a write: "
          "DAC_OVERRIDE stays, the refusal was survived",
          "[either_or]") {
  Profile p;
  seen(p, kDacReadSearch, "generic_permission", 0, 1, "openat");
  seen(p, kDacOverride, "generic_permission", 3, 0, "openat");
  FinalAdvice a = final_advice(p);
  CHECK(a.add == cap_bit(kDacOverride));
  CHECK(a.denied == 0);
  CHECK(a.recovered == cap_bit(kDacReadSearch));
  std::string r = render_report(p, {});
  INFO(r);
  CHECK_FALSE(contains(r, "WARNING"));
  CHECK(contains(r, "DAC_READ_SEARCH was denied 1 time at generic_permission"));
}

TEST_CASE("a refusal at a site where nothing broader was granted is a real "
          "denial",
          "[either_or]") {
  Profile p;
  seen(p, kDacReadSearch, "generic_permission", 0, 1, "openat");
  seen(p, kDacOverride, "generic_permission", 0, 1, "openat");
  FinalAdvice a = final_advice(p);
  CHECK(a.add == 0);
  CHECK(a.denied == (cap_bit(kDacReadSearch) | cap_bit(kDacOverride)));
  CHECK(a.recovered == 0);
}

TEST_CASE("refinement is idempotent", "[either_or]") {
  Profile p;
  seen(p, kSysAdmin, "ioprio_check_cap", 1, 0);
  seen(p, kBpf, "map_create", 0, 1);
  seen(p, kSysAdmin, "map_create", 1, 0);
  FinalAdvice once = final_advice(p);
  CHECK(once.add == (cap_bit(kSysNice) | cap_bit(kBpf)));
  Advice again{once.add, once.denied};
  FinalAdvice twice = refine_advice(p, again);
  CHECK(twice.add == once.add);
  CHECK(twice.denied == once.denied);
}

TEST_CASE("the json profile carries the refined advice", "[either_or]") {
  Profile p;
  seen(p, kSysAdmin, "ioprio_check_cap", 1, 0, "ioprio_set");
  p.held = all_caps_mask();
  p.held_known = true;
  auto j = nlohmann::json::parse(render(p, Format::Json));
  CHECK(j["advice"]["add"] == nlohmann::json({"SYS_NICE"}));
  // Held and unused is relative to the refined advice too.
  auto unused = j["held_unused"].get<std::vector<std::string>>();
  CHECK(std::find(unused.begin(), unused.end(), "SYS_ADMIN") != unused.end());
  CHECK(std::find(unused.begin(), unused.end(), "SYS_NICE") == unused.end());
}

TEST_CASE("a refusal in the same syscall as the broad grant counts even when "
          "the grant carries an earlier call site",
          "[either_or]") {
  // A profile keeps one call site per (syscall, capability, verdict): the
  // first. Measured on 6.18 without BPF and PERFMON: SYS_ADMIN granted 7
  // times in bpf(2), its site bpf_prog_load; PERFMON refused at bpf_check.
  Profile p;
  seen(p, kSysAdmin, "bpf_prog_load", 7, 0, "bpf");
  seen(p, kBpf, "bpf_prog_load", 0, 3, "bpf");
  seen(p, kPerfmon, "bpf_check", 0, 4, "bpf");
  FinalAdvice a = final_advice(p);
  CHECK(a.add == (cap_bit(kBpf) | cap_bit(kPerfmon)));
  CHECK(a.denied == 0);
  // The same refusal in another syscall is not tied to the grant.
  Profile q;
  seen(q, kSysAdmin, "bpf_prog_load", 1, 0, "bpf");
  seen(q, kBpf, "bpf_prog_load", 0, 1, "bpf");
  seen(q, kPerfmon, "bpf_check", 0, 1, "perf_event_open");
  FinalAdvice b = final_advice(q);
  CHECK(b.add == cap_bit(kBpf));
  CHECK(b.denied == cap_bit(kPerfmon));
}

TEST_CASE("SO_MARK without NET_RAW is NET_RAW, other socket options keep "
          "NET_ADMIN",
          "[either_or]") {
  Profile p;
  seen(p, kNetRaw, "sk_setsockopt", 0, 1, "setsockopt");
  seen(p, kNetAdmin, "sk_setsockopt", 1, 0, "setsockopt");
  CHECK(final_advice(p).add == cap_bit(kNetRaw));
  // NET_ADMIN asked more often than NET_RAW was refused: some option
  // (SO_RCVBUFFORCE, ...) needs NET_ADMIN itself.
  p.entry(kNetAdmin, CheckClass::Needed).granted = 2;
  CHECK(final_advice(p).add == cap_bit(kNetAdmin));
}

// chrony, exim4: reads of root-only files let DAC_READ_SEARCH through at
// generic_permission, writes need DAC_OVERRIDE. generic_permission accepts
// DAC_OVERRIDE for those reads too, so DAC_READ_SEARCH adds nothing.
TEST_CASE("a narrow capability used only where an advised broad one is also "
          "accepted is covered, not added",
          "[either_or]") {
  Profile p;
  add_check(p, kDacOverride, CheckClass::Needed, 3, 0, {"openat"},
            {"generic_permission"});
  add_check(p, kDacReadSearch, CheckClass::Needed, 5, 0, {"openat"},
            {"generic_permission"});
  FinalAdvice a = final_advice(p);
  CHECK(a.add == cap_bit(kDacOverride));
  CHECK(a.covered == cap_bit(kDacReadSearch));
  std::string report = render(p, Format::Report, {});
  CHECK(contains(report, "DAC_READ_SEARCH is not added"));
  CHECK(contains(report, "also accepts DAC_OVERRIDE"));
  CHECK(refine_advice(p, Advice{a.add, a.denied}).add == a.add);

  SECTION("not when the narrow one is also used elsewhere") {
    add_check(p, kDacReadSearch, CheckClass::Needed, 1, 0,
              {"open_by_handle_at"}, {"handle_to_path"});
    CHECK(final_advice(p).add ==
          (cap_bit(kDacOverride) | cap_bit(kDacReadSearch)));
  }
  SECTION("not without the broad one") {
    Profile q;
    add_check(q, kDacReadSearch, CheckClass::Needed, 5, 0, {"openat"},
              {"generic_permission"});
    CHECK(final_advice(q).add == cap_bit(kDacReadSearch));
    CHECK(final_advice(q).covered == 0);
  }
}
