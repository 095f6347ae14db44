// The fixture of every test that boots a guest: where /dev/kvm cannot be used it skips, saying why.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "guest_runner.h"

namespace xkvm::test {

class KvmTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        std::string why;
        if (!kvm_usable(&why))
            GTEST_SKIP() << "SKIP: " << why;
    }
};

} // namespace xkvm::test
