#pragma once
// This machine's physical memory, and byte counts as people read them. Sizes that cannot fit are
// refused up front, naming what asked for them, rather than failing later with a bare
// std::bad_alloc (or, under Linux's overcommit, an OOM kill when the pages are first touched).
#include <unistd.h>

#include <cstdint>
#include <sstream>
#include <string>

namespace rlhf {

// Physical memory in bytes (0 if the system does not say); asked once, as allocations read it.
inline double host_memory_bytes() {
  static const double bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? double(pages) * double(page) : 0.0;
  }();
  return bytes;
}

// "23.4 GiB", "512 MiB", "80 B".
inline std::string readable_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (bytes >= 1024 && u < 5) bytes /= 1024, ++u;
  std::ostringstream os;
  os.precision(3);
  os << bytes << ' ' << units[u];
  return os.str();
}

}  // namespace rlhf
