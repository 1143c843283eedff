// faceedit — reading the labelled face archives (.tar, POSIX ustar / GNU) without unpacking them.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace faceedit::io {

// Calls `visit(name, bytes)` for every regular file of the archive, in archive order. Handles
// ustar name prefixes, GNU long names and pax path records. Throws faceedit::Error naming the
// archive and the byte offset for truncated archives and corrupt headers (bad checksum).
void for_each_tar_file(const std::string& path,
                       const std::function<void(const std::string& name, std::string_view bytes)>& visit);

}  // namespace faceedit::io
