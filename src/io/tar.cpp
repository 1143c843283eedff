#include "faceedit/io/tar.h"

#include <fstream>
#include <iterator>
#include <vector>

#include "faceedit/error.h"

namespace faceedit::io {

namespace {

constexpr size_t kBlock = 512;

std::string field(const char* p, size_t n) {
  size_t len = 0;
  while (len < n && p[len] != '\0') ++len;
  return std::string(p, len);
}

// Octal numeric field; GNU base-256 (high bit set) for sizes of 8 GiB and more.
uint64_t parse_number(const char* p, size_t n, const std::string& what) {
  if (static_cast<unsigned char>(p[0]) & 0x80) {
    uint64_t v = 0;
    for (size_t i = 1; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
  }
  uint64_t v = 0;
  size_t i = 0;
  while (i < n && (p[i] == ' ' || p[i] == '\0')) ++i;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i) v = v * 8 + static_cast<uint64_t>(p[i] - '0');
  for (; i < n; ++i)
    if (p[i] != ' ' && p[i] != '\0') fail(what, "corrupt tar header (bad number field)");
  return v;
}

bool checksum_ok(const char* h) {
  uint64_t stored = 0;
  size_t i = 0;
  while (i < 8 && (h[148 + i] == ' ' || h[148 + i] == '\0')) ++i;
  for (; i < 8 && h[148 + i] >= '0' && h[148 + i] <= '7'; ++i) stored = stored * 8 + (h[148 + i] - '0');
  uint64_t sum = 0;
  for (size_t k = 0; k < kBlock; ++k) sum += (k >= 148 && k < 156) ? ' ' : static_cast<unsigned char>(h[k]);
  return sum == stored;
}

// "path" record of a pax extended header ("<len> path=<value>\n" records, <len> counting the whole
// record). A record whose length is not a decimal number that fits the header is corrupt.
std::string pax_path(std::string_view data, const std::string& archive, size_t offset) {
  const auto corrupt = [&] { fail(archive, "corrupt pax header at byte " + std::to_string(offset) + " (a record's length is not valid)"); };
  size_t pos = 0;
  while (pos < data.size()) {
    size_t space = data.find(' ', pos);
    if (space == std::string_view::npos) break;
    size_t len = 0;
    if (space == pos || space - pos > 18) corrupt();
    for (size_t i = pos; i < space; ++i) {
      if (data[i] < '0' || data[i] > '9') corrupt();
      len = len * 10 + static_cast<size_t>(data[i] - '0');
    }
    if (len < space - pos + 2 || pos + len > data.size()) corrupt();  // at least "<len> \n"
    std::string_view rec = data.substr(space + 1, len - (space + 1 - pos) - 1);
    if (rec.substr(0, 5) == "path=") return std::string(rec.substr(5));
    pos += len;
  }
  return "";
}

}  // namespace

void for_each_tar_file(const std::string& path,
                       const std::function<void(const std::string&, std::string_view)>& visit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open archive");
  const std::vector<char> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t off = 0;
  std::string long_name;
  while (true) {
    if (off + kBlock > buf.size()) {
      if (off == buf.size()) return;  // archive without end-of-archive blocks: tolerated
      fail(path, "truncated tar archive (partial header at byte " + std::to_string(off) + ")");
    }
    const char* h = buf.data() + off;
    bool zero = true;
    for (size_t k = 0; k < kBlock && zero; ++k) zero = h[k] == '\0';
    if (zero) return;  // end of archive
    const std::string where = path + " at byte " + std::to_string(off);
    if (!checksum_ok(h)) fail(where, "corrupt tar header (checksum mismatch; not a tar file?)");
    const uint64_t size = parse_number(h + 124, 12, where);
    const char type = h[156];
    const size_t data_off = off + kBlock;
    if (size > buf.size() || data_off + size > buf.size())
      fail(path, "truncated tar archive (entry at byte " + std::to_string(off) + " needs " + std::to_string(size) +
                     " bytes)");
    const std::string_view data(buf.data() + data_off, size);
    std::string name = field(h, 100);
    if (field(h + 257, 6) == "ustar" && h[345] != '\0') name = field(h + 345, 155) + "/" + name;
    if (type == 'L') {
      long_name = field(data.data(), data.size());
    } else if (type == 'x') {
      long_name = pax_path(data, path, off);
    } else {
      if (!long_name.empty()) name = long_name;
      long_name.clear();
      if (type == '0' || type == '\0' || type == '7') visit(name, data);
    }
    off = data_off + (size + kBlock - 1) / kBlock * kBlock;
  }
}

}  // namespace faceedit::io
