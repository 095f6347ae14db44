// Which backend a guest test runs on: CTest registers each guest test once per backend, with
// XKVM_ACCEL=emu (always) and XKVM_ACCEL=kvm (where /dev/kvm exists when configuring), and the
// VMMs the test starts inherit it. A kvm variant skips, saying why, if /dev/kvm cannot be used.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace xkvm::test {

inline bool kvm_backend_requested()
{
    const char* accel = std::getenv("XKVM_ACCEL");
    return accel && std::string(accel) == "kvm";
}

// XKVM_REQUIRE_KVM=1 (CI on KVM hosts) turns a kvm test's skip into a failure.
inline bool kvm_required()
{
    const char* v = std::getenv("XKVM_REQUIRE_KVM");
    return v && std::string(v) == "1";
}

// True (with the reason) when the test asks for the kvm backend and /dev/kvm cannot be opened.
inline bool requested_backend_unavailable(std::string* why)
{
    if (!kvm_backend_requested())
        return false;
    int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        ::close(fd);
        return false;
    }
    if (why)
        *why = std::string("SKIP: the kvm backend needs /dev/kvm: ") + std::strerror(errno);
    return true;
}

} // namespace xkvm::test

// In a test's SetUp or body: skips a test whose backend this machine lacks, or fails it where
// XKVM_REQUIRE_KVM=1 says the machine must have it.
#define XKVM_SKIP_IF_BACKEND_UNAVAILABLE()                                                                     \
    do {                                                                                                      \
        std::string why_;                                                                                     \
        if (::xkvm::test::requested_backend_unavailable(&why_)) {                                             \
            if (::xkvm::test::kvm_required())                                                                 \
                FAIL() << why_ << " (XKVM_REQUIRE_KVM=1)";                                                    \
            GTEST_SKIP() << why_;                                                                             \
        }                                                                                                     \
    } while (0)
