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
  // noncanonical (optional): keys whose profile is not exactly the file
  // file_name(key) (a file under another name, or several merged), with
  // the files it came from; see consolidate().
  std::vector<std::string>
  load(std::map<std::string, Profile> *out,
       std::map<std::string, std::vector<std::string>> *noncanonical = nullptr);
  // Saves a noncanonical key's merged profile under file_name(key) and
  // renames its other files to *.merged, so a later load counts them once.
  Result<void> consolidate(const std::string &key, const Profile &p,
                           const std::vector<std::string> &files);
  // One workload's profile, from file_name(key).
  Result<Profile> load_one(const std::string &key) const;
  Result<void> save(const std::string &key, const Profile &p);
  const std::string &dir() const { return dir_; }

  // A file name for a key: [A-Za-z0-9._-] kept, anything else '_'.
  static std::string file_name(const std::string &key);

private:
  std::string dir_;
};

} // namespace capscope
