#include "base/result.h"

#include <cstring>

namespace xkvm {

std::string errno_string(int err)
{
    // strerrordesc_np is thread-safe and never writes into a shared buffer.
    const char* desc = strerrordesc_np(err);
    return desc ? std::string(desc) : fmt::format("errno {}", err);
}

} // namespace xkvm
