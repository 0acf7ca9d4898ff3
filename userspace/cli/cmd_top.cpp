// cmd_top.cpp - `capscope top`: a live view of the daemon's containers,
// one row each (capabilities used so far, checks per second, denied,
// held-but-unused), refreshed in place with plain ANSI sequences on a
// terminal; keys sort, select and open one container's `show` report.
// Not on a terminal (or with --once) it prints plain tables instead.
// The rows, rates and table are core/top_view; this file is the terminal.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/ioctl.h>
#include <termios.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/format.h"
#include "core/top_view.h"
#include "daemon/protocol.h"

namespace capscope {

namespace {

volatile std::sig_atomic_t g_resized = 0;
void on_winch(int) { g_resized = 1; }

struct TermSize {
  int cols = 80, rows = 24;
};

TermSize term_size() {
  TermSize t;
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
    t.cols = ws.ws_col;
    t.rows = ws.ws_row;
  }
  return t;
}

// The terminal in cbreak mode on the alternate screen, cursor hidden, for
// as long as it lives; restored however `top` ends (q, Ctrl-C, an error).
class Screen {
public:
  Screen() {
    if (tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios raw = saved_;
      raw.c_lflag &= ~(ICANON | ECHO);
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      restore_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    std::fputs("\033[?1049h\033[?25l", stdout);
    std::fflush(stdout);
  }
  ~Screen() {
    std::fputs("\033[?25h\033[?1049l", stdout);
    std::fflush(stdout);
    if (restore_)
      tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  Screen(const Screen &) = delete;
  Screen &operator=(const Screen &) = delete;

private:
  termios saved_{};
  bool restore_ = false;
};

enum Key { kNone = 0, kUp = 1000, kDown, kPageUp, kPageDown, kEnter, kEsc };

// Waits up to timeout_ms for one key; kNone on timeout or a signal.
int read_key(int timeout_ms) {
  pollfd p{STDIN_FILENO, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0)
    return kNone;
  unsigned char buf[8];
  ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
  if (n <= 0)
    return kNone;
  if (buf[0] == '\r' || buf[0] == '\n')
    return kEnter;
  if (buf[0] == 0x1b) {
    if (n >= 3 && (buf[1] == '[' || buf[1] == 'O')) {
      switch (buf[2]) {
      case 'A':
        return kUp;
      case 'B':
        return kDown;
      case '5':
        return kPageUp;
      case '6':
        return kPageDown;
      }
    }
    return kEsc;
  }
  return buf[0];
}

std::string clock_text() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

std::vector<std::string> split_lines(const std::string &text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l))
    out.push_back(l);
  return out;
}

// A container's `show` report in a minimal pager: j/k/arrows scroll,
// space/PgDn and b/PgUp by pages; q, Enter or Esc return to the table.
void page(const std::string &title, const std::string &text) {
  std::vector<std::string> lines = split_lines(text);
  std::size_t top = 0;
  for (;;) {
    TermSize t = term_size();
    std::size_t body = t.rows > 2 ? t.rows - 1 : 1;
    std::size_t last = lines.size() > body ? lines.size() - body : 0;
    top = std::min(top, last);
    std::string out = "\033[H";
    for (std::size_t i = 0; i < body; ++i) {
      std::string l = top + i < lines.size() ? lines[top + i] : "";
      if (l.size() > static_cast<std::size_t>(t.cols))
        l.resize(t.cols);
      out += l + "\033[K\n";
    }
    std::string status = title + "  (lines " + std::to_string(top + 1) + "-" +
                         std::to_string(std::min(top + body, lines.size())) +
                         " of " + std::to_string(lines.size()) +
                         ")  j/k scroll  q back";
    if (status.size() > static_cast<std::size_t>(t.cols))
      status.resize(t.cols);
    out += "\033[7m" + status + "\033[0m\033[K";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
    int k = read_key(1000);
    if (g_stop_signal)
      return;
    switch (k) {
    case 'q':
    case kEnter:
    case kEsc:
      return;
    case 'j':
    case kDown:
      top = std::min(top + 1, last);
      break;
    case 'k':
    case kUp:
      top = top ? top - 1 : 0;
      break;
    case ' ':
    case kPageDown:
      top = std::min(top + body, last);
      break;
    case 'b':
    case kPageUp:
      top = top > body ? top - body : 0;
      break;
    default:
      break;
    }
  }
}

// Samples the daemon: one `list`, with the rates against the previous
// answer and the keys whose counts moved kept in `active`.
class Sampler {
public:
  Sampler(std::string socket, bool all)
      : socket_(std::move(socket)), all_(all) {}

  Result<void> sample() {
    auto r = daemon_list(socket_);
    if (!r)
      return r.error();
    TopSample now = top_sample(r.value(), mono_now_ns());
    if (have_prev_) {
      top_rates(now, prev_);
      std::map<std::string, std::uint64_t> before;
      for (const auto &row : prev_.rows)
        if (row.checks)
          before[row.key] = *row.checks;
      for (const auto &row : now.rows) {
        auto it = before.find(row.key);
        if (row.checks && (it == before.end() || it->second != *row.checks))
          active_[row.key] = true;
      }
    }
    prev_ = std::move(now);
    have_prev_ = true;
    return {};
  }

  std::vector<TopRow> rows(TopSort sort) const {
    std::vector<TopRow> v = top_visible(prev_.rows, active_, all_);
    top_sort(v, sort);
    return v;
  }

private:
  std::string socket_;
  bool all_;
  TopSample prev_;
  bool have_prev_ = false;
  std::map<std::string, bool> active_;
};

std::string summary_line(const std::vector<TopRow> &rows, TopSort sort) {
  std::size_t running = 0;
  for (const auto &r : rows)
    running += r.running;
  return std::to_string(rows.size()) + " shown, " + std::to_string(running) +
         " running; sorted by " + std::string(top_sort_name(sort));
}

// Not on a terminal: a plain table per sample (one with --once, after one
// interval so that the rates are real), blocks apart by a blank line.
int run_plain(Sampler &s, const TopConfig &c, std::int64_t interval_ms,
              TopSort sort) {
  if (auto r = s.sample(); !r)
    throw Fatal("top: " + r.error().message);
  TopTableOptions o;
  o.width = 1000;
  for (bool first = true;; first = false) {
    if (!first || c.once) {
      std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
      if (g_stop_signal)
        return 0;
      if (auto r = s.sample(); !r)
        throw Fatal("top: " + r.error().message);
    }
    std::vector<TopRow> rows = s.rows(sort);
    std::string out = first ? "" : "\n";
    out += top_table(rows, o);
    if (rows.empty())
      out += c.all ? "(the daemon holds no profiles yet)\n"
                   : "(no container is running; --all shows every profile)\n";
    if (std::fputs(out.c_str(), stdout) < 0 || std::fflush(stdout) != 0)
      return 0; // the reader went away (| head)
    if (c.once)
      return 0;
  }
}

int run_live(Sampler &s, const TopConfig &c, std::int64_t interval_ms,
             TopSort sort) {
  if (auto r = s.sample(); !r) // before the screen: a plain one-line error
    throw Fatal("top: " + r.error().message);
  struct sigaction sa {};
  sa.sa_handler = on_winch;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGWINCH, &sa, nullptr);
  Screen screen;
  std::string selected_key, error, flash;
  int selected = 0;
  auto next =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(interval_ms);
  for (;;) {
    std::vector<TopRow> rows = s.rows(sort);
    // The selection follows its container through re-sorting.
    if (!selected_key.empty())
      for (std::size_t i = 0; i < rows.size(); ++i)
        if (rows[i].key == selected_key)
          selected = static_cast<int>(i);
    selected = rows.empty()
                   ? 0
                   : std::clamp(selected, 0, static_cast<int>(rows.size()) - 1);
    selected_key = rows.empty() ? "" : rows[selected].key;

    TermSize t = term_size();
    int room = std::max(1, t.rows - 4); // title, keys, header, message
    int first = std::max(0, selected - room + 1);
    std::vector<TopRow> window(
        rows.begin() + std::min<std::size_t>(first, rows.size()),
        rows.begin() + std::min<std::size_t>(first + room, rows.size()));
    TopTableOptions o;
    o.width = t.cols;
    o.ansi = true;
    o.selected = rows.empty() ? -1 : selected - first;
    std::string head = "capscope top - " + clock_text() + " - " +
                       summary_line(rows, sort) + " - every " + c.interval;
    std::string keys = "keys: c caps  r rate  d denied  u unused  n name  "
                       "j/k select  Enter/s show  q quit";
    auto cut = [&](std::string l) {
      if (l.size() > static_cast<std::size_t>(t.cols))
        l.resize(t.cols);
      return l + "\033[K\n";
    };
    std::string out = "\033[H" + cut(head) + cut(keys);
    std::string table = top_table(window, o);
    for (const auto &l : split_lines(table))
      out += l + "\033[K\n";
    if (rows.empty())
      out += cut(c.all ? "(the daemon holds no profiles yet)"
                       : "(no container is running; --all shows every "
                         "profile)");
    if (!error.empty())
      out += cut("\033[1mcapscope: " + error + "\033[0m");
    else if (!flash.empty())
      out += cut(flash);
    out += "\033[J";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);

    auto now = std::chrono::steady_clock::now();
    int wait = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(next - now)
            .count());
    int k = wait > 0 ? read_key(wait) : kNone;
    if (g_stop_signal)
      return 0;
    if (g_resized) {
      g_resized = 0;
      std::fputs("\033[2J", stdout);
    }
    if (k == 'q')
      return 0;
    if (auto so = top_sort_for_key(static_cast<char>(k)); k < 256 && so) {
      sort = *so;
      continue;
    }
    switch (k) {
    case 'j':
    case kDown:
      ++selected;
      selected_key.clear();
      continue;
    case 'k':
    case kUp:
      selected = std::max(0, selected - 1);
      selected_key.clear();
      continue;
    case 's':
    case kEnter:
      if (!rows.empty()) {
        const TopRow &r = rows[selected];
        auto p = daemon_get_profile(c.socket, r.key);
        if (!p) {
          flash = "show " + r.key + ": " + p.error().message;
        } else {
          flash.clear();
          std::fputs("\033[2J", stdout);
          page("capscope show " + (r.name.empty() ? r.key : r.name),
               render(p.value(), Format::Report));
          std::fputs("\033[2J", stdout);
          if (g_stop_signal)
            return 0;
        }
      }
      continue;
    case kNone:
      break;
    default:
      continue;
    }
    if (std::chrono::steady_clock::now() < next)
      continue;
    next = std::chrono::steady_clock::now() +
           std::chrono::milliseconds(interval_ms);
    // The daemon may be restarting: say so and keep trying.
    auto r = s.sample();
    error = r ? "" : r.error().message;
  }
}

} // namespace

int run_top(const TopConfig &c) {
  std::int64_t interval_ms = duration_or_die("top", "--interval", c.interval);
  if (interval_ms < 100)
    throw Fatal("top: --interval must be at least 100ms");
  auto sort = parse_top_sort(c.sort);
  if (!sort)
    throw Fatal("top: unknown --sort '" + c.sort +
                "' (valid: rate, caps, denied, unused, name)");
  Sampler s(c.socket, c.all);
  install_stop_signals();
  if (c.once || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO))
    return run_plain(s, c, interval_ms, *sort);
  return run_live(s, c, interval_ms, *sort);
}

} // namespace capscope
