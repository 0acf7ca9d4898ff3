// store.h - the daemon's profiles on disk: one JSON file per workload in a
// state directory, written atomically; a corrupt file is reported and moved
// aside, never fatal, never allowed to take the others down with it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/profile.h"

namespace capscope {

class ProfileStore {
public:
  explicit ProfileStore(std::string dir) : dir_(std::move(dir)) {}

  // Creates the directory (0700) if needed.
  Result<void> open();
  // Loads every *.json. Returns one line per file that was set aside.
  std::vector<std::string> load(std::map<std::string, Profile> *out);
  Result<void> save(const std::string &key, const Profile &p);
  const std::string &dir() const { return dir_; }

  // A file name for a key: [A-Za-z0-9._-] kept, anything else '_'.
  static std::string file_name(const std::string &key);

private:
  std::string dir_;
};

} // namespace capscope
