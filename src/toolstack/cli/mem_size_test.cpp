#include "toolstack/cli/mem_size.h"

#include <gtest/gtest.h>

namespace xkvm::cli {
namespace {

TEST(MemSize, APlainNumberIsMib)
{
    EXPECT_EQ(parse_mem_size_kib("64"), 64u * 1024);
    EXPECT_EQ(parse_mem_size_kib("0"), 0u);
}

TEST(MemSize, EachSuffixInEitherCase)
{
    EXPECT_EQ(parse_mem_size_kib("2t"), 2ull << 30);
    EXPECT_EQ(parse_mem_size_kib("2G"), 2ull << 20);
    EXPECT_EQ(parse_mem_size_kib("40m"), 40u * 1024);
    EXPECT_EQ(parse_mem_size_kib("40960K"), 40960u);
    EXPECT_EQ(parse_mem_size_kib("8192b"), 8u);
    // Bytes round down to whole KiB, as xl's shift does.
    EXPECT_EQ(parse_mem_size_kib("1023B"), 0u);
}

TEST(MemSize, AnythingElseIsRefused)
{
    for (const char* bad : { "", "m", "-1", "+1", " 1", "1 ", "1mb", "1x", "1.5g", "0x10", "64MiB" })
        EXPECT_FALSE(parse_mem_size_kib(bad).has_value()) << bad;
}

TEST(MemSize, SizesThatOverflowAreRefused)
{
    EXPECT_FALSE(parse_mem_size_kib("99999999999999999999").has_value());
    EXPECT_FALSE(parse_mem_size_kib("9000000000t").has_value());
    EXPECT_TRUE(parse_mem_size_kib("8000000t").has_value());
}

} // namespace
} // namespace xkvm::cli
