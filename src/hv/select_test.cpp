#include "hv/select.h"

#include <cstdlib>
#include <gtest/gtest.h>

using namespace xkvm::hv;

namespace {

// Sets an environment variable for one test and restores it after.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : m_name(name)
    {
        if (const char* old = std::getenv(name))
            m_old = old;
        ::setenv(name, value, 1);
    }
    ~ScopedEnv()
    {
        if (m_old.empty())
            ::unsetenv(m_name);
        else
            ::setenv(m_name, m_old.c_str(), 1);
    }

private:
    const char* m_name;
    std::string m_old;
};

} // namespace

TEST(AccelSelect, ParsesTheThreeNamesAndRejectsOthers)
{
    EXPECT_EQ(*parse_accel("kvm"), Accel::Kvm);
    EXPECT_EQ(*parse_accel("emu"), Accel::Emu);
    EXPECT_EQ(*parse_accel("auto"), Accel::Auto);
    auto bad = parse_accel("tcg");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("expected auto, kvm or emu"), std::string::npos);
}

TEST(AccelSelect, EnvironmentForcesABackend)
{
    ScopedEnv env("XKVM_ACCEL", "emu");
    EXPECT_EQ(*accel_from_environment(), Accel::Emu);
    ScopedEnv bad("XKVM_ACCEL", "fast");
    auto r = accel_from_environment();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("XKVM_ACCEL"), std::string::npos);
}

TEST(AccelSelect, EmuIsAlwaysAvailable)
{
    auto hv = open_hypervisor(Accel::Emu);
    ASSERT_TRUE(hv) << hv.error().message;
    EXPECT_EQ((*hv)->accel(), Accel::Emu);
    EXPECT_TRUE((*hv)->capabilities().vmcall_hypercalls);
    EXPECT_TRUE((*hv)->supported_cpuid().get(1).has_value());
}

TEST(AccelSelect, AForcedKvmThatCannotOpenIsAClearError)
{
    ScopedEnv dev("XKVM_KVM_DEVICE", "/nonexistent/kvm");
    auto hv = open_hypervisor(Accel::Kvm);
    ASSERT_FALSE(hv);
    EXPECT_NE(hv.error().message.find("accelerator kvm is unavailable"), std::string::npos);
    EXPECT_NE(hv.error().message.find("/nonexistent/kvm"), std::string::npos);
}

TEST(AccelSelect, AutoFallsBackToEmuWithoutKvm)
{
    ScopedEnv dev("XKVM_KVM_DEVICE", "/nonexistent/kvm");
    std::string why;
    EXPECT_EQ(resolve_auto(&why), Accel::Emu);
    EXPECT_NE(why.find("/nonexistent/kvm"), std::string::npos);
    auto hv = open_hypervisor(Accel::Auto);
    ASSERT_TRUE(hv) << hv.error().message;
    EXPECT_EQ((*hv)->accel(), Accel::Emu);
}
