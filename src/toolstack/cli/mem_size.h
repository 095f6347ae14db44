// Memory sizes as xl's mem-set and mem-max read them: a decimal number of MiB, or with one suffix
// t, g, m, k or b (either case) for TiB, GiB, MiB, KiB or bytes; the result is in KiB.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace xkvm::cli {

// Empty when the text is not such a size or the KiB do not fit in 63 bits.
std::optional<uint64_t> parse_mem_size_kib(std::string_view text);

} // namespace xkvm::cli
