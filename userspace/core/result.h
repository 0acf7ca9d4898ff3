// result.h - Result<T>: a value or an error (errno + one-line message).
// Recoverable failures return one of these; the one fatal error type,
// Fatal, is caught only in main and becomes a one-line message + exit 125.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace capscope {

struct Error {
  int err = 0; // errno when one applies, else 0
  std::string message;
};

template <typename T> class Result {
public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T &value() { return std::get<0>(v_); }
  const T &value() const { return std::get<0>(v_); }
  T &operator*() { return value(); }
  T *operator->() { return &value(); }
  const Error &error() const { return std::get<1>(v_); }

private:
  std::variant<T, Error> v_;
};

template <> class Result<void> {
public:
  Result() = default;
  Result(Error e) : e_(std::move(e)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error &error() const { return e_; }

private:
  Error e_;
  bool ok_ = true;
};

// The one fatal error: caught in main, printed as one line, exit 125.
class Fatal : public std::runtime_error {
public:
  explicit Fatal(const std::string &m, int code = 125)
      : std::runtime_error(m), code_(code) {}
  int code() const { return code_; }

private:
  int code_;
};

} // namespace capscope
