// The fixture of every test that boots a guest. It runs on the backend CTest chose (XKVM_ACCEL);
// the kvm variant skips, saying why, where /dev/kvm cannot be used.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "backend.h"

namespace xkvm::test {

class GuestTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        XKVM_SKIP_IF_BACKEND_UNAVAILABLE();
    }
};

} // namespace xkvm::test
