// store.cpp - loading and saving the daemon's profiles.
#include "core/store.h"
#include "core/json_safe.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <sys/stat.h>

namespace capscope {

namespace fs = std::filesystem;

Result<void> ProfileStore::open() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    return Error{ec.value(),
                 "cannot create state directory " + dir_ + ": " + ec.message()};
  chmod(dir_.c_str(), 0700);
  return {};
}

std::string ProfileStore::file_name(const std::string &key) {
  std::string out;
  for (char c : key)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
            c == '_' || c == '-')
               ? c
               : '_';
  if (out.empty() || out[0] == '.')
    out = "_" + out;
  return out + ".json";
}

std::vector<std::string> ProfileStore::load(
    std::map<std::string, Profile> *out,
    std::map<std::string, std::vector<std::string>> *noncanonical) {
  std::map<std::string, std::vector<std::string>> files;
  std::vector<std::string> problems;
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(dir_, ec)) {
    const fs::path &path = entry.path();
    if (path.extension() != ".json" || !entry.is_regular_file())
      continue;
    auto p = load_profile(path.string());
    if (!p) {
      std::string aside =
          path.string() + ".corrupt-" + std::to_string(std::time(nullptr));
      std::error_code rc;
      fs::rename(path, aside, rc);
      problems.push_back(p.error().message + "; moved aside to " + aside);
      continue;
    }
    std::string key = p->workload.id.empty() ? p->workload.key : p->workload.id;
    if (key.empty())
      key = path.stem().string();
    auto [it, fresh] = out->try_emplace(key, p.value());
    if (!fresh)
      merge_into(it->second, p.value());
    files[key].push_back(path.string());
  }
  if (noncanonical)
    for (auto &[key, from] : files)
      if (from.size() > 1 || fs::path(from[0]).filename() != file_name(key))
        (*noncanonical)[key] = std::move(from);
  return problems;
}

Result<void> ProfileStore::consolidate(const std::string &key, const Profile &p,
                                       const std::vector<std::string> &files) {
  if (auto r = save(key, p); !r)
    return r;
  const std::string canonical = dir_ + "/" + file_name(key);
  for (const auto &f : files) {
    if (fs::path(f).filename() == file_name(key))
      continue;
    std::error_code ec;
    fs::rename(f, f + ".merged", ec);
    if (ec)
      return Error{ec.value(), "cannot rename " + f +
                                   " after merging it into " + canonical +
                                   ": " + ec.message()};
  }
  return {};
}

Result<Profile> ProfileStore::load_one(const std::string &key) const {
  return load_profile(dir_ + "/" + file_name(key));
}

Result<void> ProfileStore::save(const std::string &key, const Profile &p) {
  return save_text_atomic(dir_ + "/" + file_name(key),
                          json_text(to_json(p), 2) + "\n");
}

} // namespace capscope
