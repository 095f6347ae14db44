#include "base/result.h"
#include "base/unique_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <memory>

using namespace xkvm;

namespace {

Result<int> parse_positive(int v)
{
    if (v <= 0)
        return fail(EINVAL, "{} is not positive", v);
    return v;
}

Result<int> doubled(int v)
{
    int x = TRY(parse_positive(v));
    return x * 2;
}

Status check(int v)
{
    TRY(parse_positive(v));
    return {};
}

Result<std::unique_ptr<int>> move_only(bool ok)
{
    if (!ok)
        return fail(ENOENT, "nothing");
    return std::make_unique<int>(7);
}

Result<int> use_move_only(bool ok)
{
    auto p = TRY(move_only(ok));
    return *p;
}

} // namespace

TEST(Result, ValueAndErrorPropagate)
{
    auto good = doubled(21);
    ASSERT_TRUE(good);
    EXPECT_EQ(good.value(), 42);

    auto bad = doubled(-1);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, EINVAL);
    EXPECT_EQ(bad.error().message, "-1 is not positive");
}

TEST(Result, VoidResult)
{
    EXPECT_TRUE(check(1));
    auto s = check(0);
    ASSERT_TRUE(s.is_error());
    EXPECT_EQ(s.error().code, EINVAL);
}

TEST(Result, MoveOnlyValues)
{
    EXPECT_EQ(use_move_only(true).value(), 7);
    EXPECT_EQ(use_move_only(false).error().code, ENOENT);
}

TEST(Result, ErrnoMessage)
{
    auto e = Error::from_errno("open /nonexistent", ENOENT);
    EXPECT_EQ(e.code, ENOENT);
    EXPECT_NE(e.message.find("No such file"), std::string::npos);
}

TEST(UniqueFd, ClosesOnScopeExit)
{
    int raw;
    {
        UniqueFd fd(::open("/dev/null", O_RDONLY));
        ASSERT_TRUE(fd.valid());
        raw = fd.get();
    }
    EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
}

namespace {
Result<int> nested(int v)
{
    return TRY(doubled(TRY(parse_positive(v))));
}
} // namespace

TEST(Result, NestedTry)
{
    EXPECT_EQ(nested(2).value(), 4);
    EXPECT_EQ(nested(-2).error().code, EINVAL);
}
