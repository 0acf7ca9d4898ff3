// commands.h - one config struct and one run function per command. main.cpp
// parses the command line into these; run_* returns the exit status.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "daemon/protocol.h" // kDefaultSocket, kDefaultStateDir

namespace capscope {

struct RecordConfig {
  std::vector<std::string> command;
  std::string format = "report";
  std::string output; // "" = stderr after the workload, "-" = stdout
  std::string user;
  std::string duration;
  std::string attach = "auto";
  std::string events;    // write first-seen checks as replayable JSON lines
  std::string container; // attach to this running container instead
  std::string unit;      // or to this running systemd unit (NAME.service)
  bool verbose = false;
  bool verify = false; // then verify the advice (capscope verify)
  std::string expect;  // record --expect LIST: fail on anything beyond it
  bool expect_given = false;
};
int run_record(const RecordConfig &c);
int run_record_container(const RecordConfig &c); // record --container
int run_record_unit(const RecordConfig &c);      // record --unit

struct VerifyConfig {
  std::vector<std::string> command;
  std::string caps; // comma-separated; "" = no capabilities
  bool caps_given = false;
  std::string caps_from; // a saved profile whose advice is verified
  bool minimize = false;
  std::string check; // shell command that proves the workload works
  std::string check_timeout = "10s";
  int repeat = 1;
  std::string user;
  std::string runtime;                   // "" = run natively; "podman"
  std::string rootfs;                    // --runtime podman --rootfs DIR
  std::string image;                     // or --image NAME
  std::vector<std::string> runtime_opts; // more `podman run` options
  std::string format = "report";
  std::string output; // "" = stderr, "-" = stdout
  std::string attach = "auto";
  bool verbose = false;
  bool no_new_privs = false; // as --security-opt no-new-privileges
};
int run_verify(const VerifyConfig &c);

struct DiagnoseConfig {
  std::vector<std::string> command;
  std::string user;
  std::string duration;
  std::string output;
  bool verbose = false;
};
int run_diagnose(const DiagnoseConfig &c);

struct HookConfig {
  std::string ready_timeout = "30s"; // prestart: wait for the tracer
  std::string stop_timeout = "10s";  // poststop: wait for the profile
  std::string dir; // profiles only under this directory ("" = anywhere)
};
int run_hook(const HookConfig &c); // the OCI hook (cmd_hook.cpp)

struct TraceConfig {
  int pid = 0;
  std::string cap;
  bool denied = false;
  bool unique = false;
  std::string duration;
  std::string attach = "auto";
  bool verbose = false;
};
int run_trace(const TraceConfig &c);

struct DoctorConfig {
  bool verbose = false;
};
int run_doctor(const DoctorConfig &c);

struct DaemonCmdConfig {
  std::string state_dir = kDefaultStateDir;
  std::string socket = kDefaultSocket;
  std::string metrics;
  std::string flush_interval = "5s";
  std::string attach = "auto";
  bool verbose = false;
  std::string cgroup_parent; // "" = every container
};
int run_daemon_cmd(const DaemonCmdConfig &c);

struct ProfilesConfig {
  std::string socket = kDefaultSocket;
  bool all = false;
  bool json = false;
  std::string by;         // "" or "workload": one row per workload key
  std::string prometheus; // with --by workload: every node's, from here
  std::string window = "1h";
};
int run_profiles(const ProfilesConfig &c);
// `profiles --by workload --prometheus URL` (cmd_advise_cluster.cpp).
int run_profiles_cluster(const ProfilesConfig &c);

struct ShowConfig {
  std::string id;
  std::string socket = kDefaultSocket;
  std::string format = "report";
  bool verbose = false;
};
int run_show(const ShowConfig &c);

struct TopConfig {
  std::string socket = kDefaultSocket;
  std::string interval = "2s";
  std::string sort = "rate"; // rate, caps, denied, unused, name
  bool once = false;
  bool all = false;
};
int run_top(const TopConfig &c); // cmd_top.cpp

struct AdviseConfig {
  std::string profile; // a profile file, else a daemon workload ID|NAME
  std::string format = "report";
  bool format_given = false;
  std::string patch; // OCI config.json to write process.capabilities into
  std::string socket = kDefaultSocket;
  std::string output; // "" = stdout
  bool verbose = false;
  std::string prometheus; // URL: cluster-wide advice (cmd_advise_cluster)
  std::string workload;   // NAMESPACE/NAME, with --prometheus
  std::string window = "1h";
};
int run_advise(const AdviseConfig &c);
// `advise --prometheus URL --workload NS/NAME` (cmd_advise_cluster.cpp).
int run_advise_cluster(const AdviseConfig &c);

struct MergeConfig {
  std::vector<std::string> files;
  std::string output; // "" = stdout
  std::string format = "json";
  bool force = false;
};
int run_merge(const MergeConfig &c);

struct DiffConfig {
  std::string old_file;
  std::string new_file;
};
int run_diff(const DiffConfig &c);

struct CapsConfig {
  std::string pid;
};
int run_caps(const CapsConfig &c);

struct DecodeConfig {
  std::string hex;
};
int run_decode(const DecodeConfig &c);

} // namespace capscope
