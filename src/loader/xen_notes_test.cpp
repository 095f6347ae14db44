#include "loader/xen_notes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "xen/abi/elfnote.h"

using namespace xkvm;
using namespace xkvm::loader;
using ::testing::HasSubstr;

namespace {

std::vector<uint8_t> bytes(std::string_view s)
{
    return { s.begin(), s.end() };
}

} // namespace

TEST(LoaderXenNotes, Phys32EntryFourOrEightBytes)
{
    XenNotes n;
    ASSERT_TRUE(record_xen_note(n, XEN_ELFNOTE_PHYS32_ENTRY, std::vector<uint8_t> { 0x78, 0x56, 0x34, 0x12 }));
    EXPECT_EQ(n.phys32_entry, 0x12345678u);
    XenNotes m;
    ASSERT_TRUE(record_xen_note(m, XEN_ELFNOTE_PHYS32_ENTRY, std::vector<uint8_t> { 0, 0, 0, 1, 0, 0, 0, 0 }));
    EXPECT_EQ(m.phys32_entry, 0x1000000u);
    // The same value twice is fine.
    ASSERT_TRUE(record_xen_note(m, XEN_ELFNOTE_PHYS32_ENTRY, std::vector<uint8_t> { 0, 0, 0, 1 }));
    EXPECT_EQ(m.count, 2u);
}

TEST(LoaderXenNotes, Phys32EntryBadSizes)
{
    for (size_t size : { 0, 1, 2, 3, 5, 16 }) {
        XenNotes n;
        auto st = record_xen_note(n, XEN_ELFNOTE_PHYS32_ENTRY, std::vector<uint8_t>(size, 1));
        ASSERT_FALSE(st) << size;
        EXPECT_EQ(st.error().code, ENOEXEC);
        EXPECT_THAT(st.error().message, HasSubstr(fmt::format("{}-byte descriptor", size)));
        EXPECT_FALSE(n.phys32_entry);
    }
}

TEST(LoaderXenNotes, Phys32EntryAbove4GiB)
{
    XenNotes n;
    auto st = record_xen_note(n, XEN_ELFNOTE_PHYS32_ENTRY, std::vector<uint8_t> { 0, 0, 0, 0, 1, 0, 0, 0 });
    ASSERT_FALSE(st);
    EXPECT_THAT(st.error().message, HasSubstr("0x100000000 is not a 32-bit address"));
}

TEST(LoaderXenNotes, StringsAndNumbers)
{
    XenNotes n;
    ASSERT_TRUE(record_xen_note(n, XEN_ELFNOTE_GUEST_OS, bytes(std::string_view("linux\0junk", 10))));
    ASSERT_TRUE(record_xen_note(n, XEN_ELFNOTE_LOADER, bytes("generic"))); // no NUL at all
    ASSERT_TRUE(record_xen_note(n, XEN_ELFNOTE_FEATURES, bytes("a\x01\x7f|b")));
    ASSERT_TRUE(record_xen_note(n, XEN_ELFNOTE_VIRT_BASE, std::vector<uint8_t> { 0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0xff }));
    ASSERT_TRUE(record_xen_note(n, XEN_ELFNOTE_ENTRY, std::vector<uint8_t> { 0x34, 0x12 }));
    ASSERT_TRUE(record_xen_note(n, XEN_ELFNOTE_HYPERCALL_PAGE, std::vector<uint8_t>(3, 0))); // odd size: ignored
    ASSERT_TRUE(record_xen_note(n, XEN_ELFNOTE_SUPPORTED_FEATURES, std::vector<uint8_t> { 5, 0, 0, 0 }));
    ASSERT_TRUE(record_xen_note(n, 999, std::vector<uint8_t>(40, 0)));
    EXPECT_EQ(n.guest_os, "linux");
    EXPECT_EQ(n.loader, "generic");
    EXPECT_EQ(n.features, "a??|b");
    EXPECT_EQ(n.virt_base, 0xffffffff80000000ull);
    EXPECT_EQ(n.entry, 0x1234u);
    EXPECT_FALSE(n.hypercall_page);
    EXPECT_EQ(n.supported_features, 5u);
    EXPECT_EQ(n.count, 8u);
    auto s = n.summary();
    EXPECT_THAT(s, HasSubstr("8 Xen notes"));
    EXPECT_THAT(s, HasSubstr("guest_os=linux"));
    EXPECT_THAT(s, HasSubstr("virt_base=0xffffffff80000000"));
}

TEST(LoaderXenNotes, LongStringsAreBounded)
{
    XenNotes n;
    ASSERT_TRUE(record_xen_note(n, XEN_ELFNOTE_GUEST_VERSION, std::vector<uint8_t>(10000, 'v')));
    EXPECT_EQ(n.guest_version.size(), kMaxNoteString);
}
