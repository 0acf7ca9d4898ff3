// text.h - splitting text into lines or fields without copies, for the
// parsers of /proc files, kallsyms and lists given on the command line.
#pragma once

#include <string_view>

namespace capscope {

// Calls fn(piece) for each piece of `text` between `delim`s, in order. A
// trailing delimiter ends the last piece; it does not make an empty one
// ("a\nb\n" is "a", "b"). Empty pieces between two delimiters are passed.
template <typename F>
void for_each_piece(std::string_view text, char delim, F &&fn) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find(delim, pos);
    if (end == std::string_view::npos)
      end = text.size();
    fn(text.substr(pos, end - pos));
    pos = end + 1;
  }
}

// The lines of `text`, as for_each_piece(text, '\n', fn).
template <typename F> void for_each_line(std::string_view text, F &&fn) {
  for_each_piece(text, '\n', fn);
}

} // namespace capscope
