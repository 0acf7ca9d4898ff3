// commands.h - one config struct and one run function per command. main.cpp
// parses the command line into these; run_* returns the exit status.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace capscope {

struct RecordConfig {
  std::vector<std::string> command;
  std::string format = "report";
  std::string output; // "" = stderr after the workload, "-" = stdout
  std::string user;
  std::string duration;
  std::string attach = "auto";
  std::string events; // write first-seen checks as replayable JSON lines
  bool verbose = false;
};
int run_record(const RecordConfig &c);

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

struct DecodeConfig {
  std::string hex;
};
int run_decode(const DecodeConfig &c);

} // namespace capscope
