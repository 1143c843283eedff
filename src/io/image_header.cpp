#include "faceedit/io/image_header.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "faceedit/error.h"

namespace faceedit::io {

namespace {

// Random access to the file's bytes: the header parsers jump over segments instead of reading all.
class Source {
 public:
  virtual ~Source() = default;
  virtual uint64_t size() const = 0;
  // Copies n bytes at offset into dst; false when the data ends before offset + n.
  virtual bool read(uint64_t offset, void* dst, size_t n) = 0;
  // The whole content, or nullptr when only random access is offered (completeness checks skipped).
  virtual const std::vector<unsigned char>* all() const { return nullptr; }
};

class MemorySource : public Source {
 public:
  explicit MemorySource(const std::vector<unsigned char>& bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  bool read(uint64_t offset, void* dst, size_t n) override {
    if (offset > bytes_.size() || n > bytes_.size() - offset) return false;
    std::memcpy(dst, bytes_.data() + offset, n);
    return true;
  }
  const std::vector<unsigned char>* all() const override { return &bytes_; }

 private:
  const std::vector<unsigned char>& bytes_;
};

class FileSource : public Source {
 public:
  FileSource(std::ifstream& in, uint64_t size) : in_(in), size_(size) {}
  uint64_t size() const override { return size_; }
  bool read(uint64_t offset, void* dst, size_t n) override {
    if (offset > size_ || n > size_ - offset) return false;
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    return static_cast<size_t>(in_.gcount()) == n;
  }

 private:
  std::ifstream& in_;
  uint64_t size_;
};

uint32_t be16(const unsigned char* p) { return (uint32_t(p[0]) << 8) | p[1]; }
uint32_t be32(const unsigned char* p) { return (be16(p) << 16) | be16(p + 2); }
uint32_t le16(const unsigned char* p) { return (uint32_t(p[1]) << 8) | p[0]; }
uint32_t le24(const unsigned char* p) { return (uint32_t(p[2]) << 16) | le16(p); }
uint32_t le32(const unsigned char* p) { return (le16(p + 2) << 16) | le16(p); }

struct Parser {
  Source& src;
  const std::string& name;

  void need(uint64_t offset, void* dst, size_t n, const char* what) {
    if (!src.read(offset, dst, n)) fail(name, std::string("file ends inside the ") + what + " (truncated file?)");
  }

  ImageHeader png() {
    unsigned char h[24];
    need(0, h, sizeof h, "PNG header");
    if (be32(h + 8) != 13 || std::memcmp(h + 12, "IHDR", 4) != 0) fail(name, "PNG without an IHDR chunk first (corrupt file)");
    ImageHeader out{"PNG", be32(h + 16), be32(h + 20)};
    if (const auto* all = src.all()) {
      // Walk the chunks to IEND: a file cut short ends inside a chunk (usually an IDAT).
      uint64_t pos = 8;
      for (;;) {
        unsigned char c[8];
        if (!src.read(pos, c, 8)) fail(name, "PNG ends before its IEND chunk (truncated file?)");
        const uint64_t next = pos + 12 + uint64_t(be32(c));
        if (next > all->size()) fail(name, "PNG chunk '" + std::string(reinterpret_cast<char*>(c + 4), 4) + "' runs past the end of the file (truncated file?)");
        if (std::memcmp(c + 4, "IEND", 4) == 0) break;
        pos = next;
      }
    }
    return out;
  }

  static bool is_sof(unsigned m) {
    // SOF0-15 except DHT (C4), JPG (C8) and DAC (CC).
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
  }

  ImageHeader jpeg() {
    uint64_t pos = 2;
    ImageHeader out{"JPEG", 0, 0};
    for (;;) {
      unsigned char m[4];
      need(pos, m, 2, "JPEG marker sequence");
      if (m[0] != 0xFF) fail(name, "corrupt JPEG: expected a marker at byte " + std::to_string(pos));
      if (m[1] == 0xFF) {  // fill byte
        ++pos;
        continue;
      }
      if (m[1] == 0x01 || (m[1] >= 0xD0 && m[1] <= 0xD7)) {  // markers without a length
        pos += 2;
        continue;
      }
      if (m[1] == 0xD9 || m[1] == 0xDA) fail(name, "JPEG without a frame header (SOF) before its image data (corrupt file)");
      need(pos + 2, m + 2, 2, "JPEG segment length");
      const uint32_t length = be16(m + 2);
      if (length < 2) fail(name, "corrupt JPEG: segment length " + std::to_string(length));
      if (is_sof(m[1])) {
        unsigned char f[5];
        need(pos + 4, f, 5, "JPEG frame header");
        out.height = be16(f + 1);
        out.width = be16(f + 3);
        if (out.height == 0) fail(name, "JPEG whose height is defined later by a DNL marker (unsupported)");
        pos += 2 + length;
        break;
      }
      pos += 2 + length;
    }
    if (const auto* all = src.all()) check_jpeg_end(*all, pos);
    return out;
  }

  // Follows the segments and entropy-coded data to the end-of-image marker. Decoders silently grey
  // out the missing part of a cut-short JPEG, so this is the only way to notice one.
  void check_jpeg_end(const std::vector<unsigned char>& b, uint64_t pos) {
    const size_t n = b.size();
    while (pos + 1 < n) {
      if (b[pos] != 0xFF) {  // entropy-coded data: jump to the next 0xFF
        const void* ff = std::memchr(b.data() + pos, 0xFF, n - pos);
        if (!ff) break;
        pos = static_cast<const unsigned char*>(ff) - b.data();
        continue;
      }
      const unsigned m = b[pos + 1];
      if (m == 0xD9) return;
      if (m == 0x00 || m == 0xFF || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // stuffing, fill, RSTn
        pos += (m == 0xFF) ? 1 : 2;
        continue;
      }
      if (pos + 3 >= n) break;
      pos += 2 + be16(&b[pos + 2]);  // a segment between scans (DHT, SOS, DQT, ...)
    }
    fail(name, "JPEG ends before its end-of-image marker (truncated file?)");
  }

  ImageHeader bmp() {
    unsigned char h[26];
    need(0, h, 18, "BMP header");
    const uint32_t pixel_offset = le32(h + 10), dib = le32(h + 14);
    ImageHeader out{"BMP", 0, 0};
    int64_t bits = 0;
    uint32_t compression = 0;
    if (dib == 12) {  // BITMAPCOREHEADER
      need(18, h + 18, 8, "BMP header");
      out.width = le16(h + 18);
      out.height = le16(h + 20);
      bits = le16(h + 24);
    } else if (dib >= 40) {
      unsigned char i[20];
      need(18, i, 20, "BMP header");
      out.width = static_cast<int32_t>(le32(i));
      out.height = static_cast<int32_t>(le32(i + 4));
      bits = le16(i + 10);
      compression = le32(i + 12);
      if (out.height < 0) out.height = -out.height;  // top-down rows
      if (out.width < 0) fail(name, "BMP with negative width " + std::to_string(out.width) + " (corrupt file)");
    } else {
      fail(name, "BMP with an unknown header size " + std::to_string(dib) + " (corrupt file?)");
    }
    if (src.all() && (compression == 0 || compression == 3) && bits > 0) {  // uncompressed: size is known
      const uint64_t row = ((uint64_t(out.width) * uint64_t(bits) + 31) / 32) * 4;
      const uint64_t end = uint64_t(pixel_offset) + row * uint64_t(out.height);
      if (end > src.size())
        fail(name, "BMP pixel data needs " + std::to_string(end) + " bytes but the file has " + std::to_string(src.size()) + " (truncated file?)");
    }
    return out;
  }

  ImageHeader webp() {
    unsigned char h[30];
    need(0, h, 30, "WebP header");
    if (src.all() && uint64_t(le32(h + 4)) + 8 > src.size())
      fail(name, "WebP announces " + std::to_string(le32(h + 4) + 8ull) + " bytes but the file has " + std::to_string(src.size()) + " (truncated file?)");
    ImageHeader out{"WebP", 0, 0};
    const unsigned char* c = h + 20;  // first chunk's payload
    if (std::memcmp(h + 12, "VP8 ", 4) == 0) {
      if (c[3] != 0x9D || c[4] != 0x01 || c[5] != 0x2A) fail(name, "corrupt WebP (VP8 start code missing)");
      out.width = le16(c + 6) & 0x3FFF;
      out.height = le16(c + 8) & 0x3FFF;
    } else if (std::memcmp(h + 12, "VP8L", 4) == 0) {
      if (c[0] != 0x2F) fail(name, "corrupt WebP (VP8L signature missing)");
      const uint32_t bits = le32(c + 1);
      out.width = (bits & 0x3FFF) + 1;
      out.height = ((bits >> 14) & 0x3FFF) + 1;
    } else if (std::memcmp(h + 12, "VP8X", 4) == 0) {
      out.width = int64_t(le24(c + 4)) + 1;
      out.height = int64_t(le24(c + 7)) + 1;
    } else {
      fail(name, "WebP with an unknown first chunk (corrupt file?)");
    }
    return out;
  }

  ImageHeader pnm() {
    // "P6 <width> <height> ..." with whitespace and #-comments between the fields.
    unsigned char buf[512];
    const size_t n = static_cast<size_t>(std::min<uint64_t>(src.size(), sizeof buf));
    need(0, buf, n, "PNM header");
    size_t pos = 2;
    int64_t dims[2];
    for (int64_t& d : dims) {
      while (pos < n && (std::isspace(buf[pos]) || buf[pos] == '#')) {
        if (buf[pos] == '#')
          while (pos < n && buf[pos] != '\n') ++pos;
        else
          ++pos;
      }
      if (pos >= n || !std::isdigit(buf[pos])) fail(name, "corrupt PNM header (width/height missing)");
      d = 0;
      while (pos < n && std::isdigit(buf[pos]) && d < (int64_t(1) << 40)) d = d * 10 + (buf[pos++] - '0');
    }
    return {"PNM", dims[0], dims[1]};
  }

  ImageHeader parse() {
    if (src.size() == 0) fail(name, "empty file");
    unsigned char magic[12] = {};
    src.read(0, magic, static_cast<size_t>(std::min<uint64_t>(src.size(), sizeof magic)));
    if (std::memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0) return png();
    if (magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF) return jpeg();
    if (magic[0] == 'B' && magic[1] == 'M') return bmp();
    if (std::memcmp(magic, "RIFF", 4) == 0 && std::memcmp(magic + 8, "WEBP", 4) == 0) return webp();
    if (magic[0] == 'P' && magic[1] >= '1' && magic[1] <= '6' && std::isspace(magic[2])) return pnm();
    fail(name, "not an image in a supported format (PNG, JPEG, BMP, WebP or PNM expected)");
  }
};

}  // namespace

ImageHeader read_image_header(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a directory, not an image file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, "cannot open (missing file?)");
  const auto end = in.tellg();
  if (end < 0) fail(path, "cannot read (not a regular file?)");
  FileSource src(in, static_cast<uint64_t>(end));
  return Parser{src, path}.parse();
}

ImageHeader parse_image_header(const std::vector<unsigned char>& bytes, const std::string& name) {
  MemorySource src(bytes);
  return Parser{src, name}.parse();
}

}  // namespace faceedit::io
