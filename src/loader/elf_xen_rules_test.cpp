// Issue 8: parse_elf() against Xen's libelf and x86 domain builders -- which classes, machines and
// program headers they accept -- and machines named in errors. (Label toolstack; the boot of a real
// ELF32 EM_X86_64 image is tests/elf_container_test.cpp.)
#include <elf.h>

#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "loader/elf_image.h"
#include "loader/test_elf_builder.h"
#include "xen/abi/elfnote.h"

using namespace xkvm;
using namespace xkvm::loader;
using namespace xkvm::loader::test;
using ::testing::HasSubstr;

namespace {

ElfBuilder good_pvh64()
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x1000000).segment(0x1000000, pattern(0x3000, 1)).phys32_entry(0x1000040, 8);
    return b;
}

std::string parse_error(const std::vector<uint8_t>& file)
{
    auto r = parse_elf(file);
    EXPECT_FALSE(r) << "parsed a file Xen would refuse";
    return r ? std::string() : r.error().message;
}

} // namespace

TEST(LoaderXenRules, RejectsMachinesThatAreNotX86ByName)
{
    EXPECT_THAT(parse_error(good_pvh64().machine(EM_ARM).build()),
                HasSubstr("wrong machine 40 (EM_ARM, 32-bit Arm): not an x86 image (expected EM_386 or EM_X86_64)"));
    EXPECT_THAT(parse_error(good_pvh64().machine(EM_AARCH64).build()), HasSubstr("wrong machine 183 (EM_AARCH64"));
    EXPECT_THAT(parse_error(good_pvh64().machine(0x7777).build()), HasSubstr("wrong machine 30583 (an unknown machine)"));
}

// As Xen's builders: either x86 machine in either class. objcopy -O elf32-x86-64 of a 64-bit link
// gives an ELF32 container with EM_X86_64, a usual way to build firmware with a 32-bit entry.
TEST(LoaderXenRules, AcceptsEitherX86MachineInEitherClass)
{
    ElfBuilder b32(ElfClass::Elf32);
    b32.entry(0x100000).segment(0x100000, pattern(16, 1)).machine(EM_X86_64);
    auto r = parse_elf(b32.build());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->elf_class, ElfClass::Elf32);
    EXPECT_EQ(r->machine, EM_X86_64);
    auto r64 = parse_elf(good_pvh64().machine(EM_386).build());
    ASSERT_TRUE(r64) << r64.error().message;
    EXPECT_EQ(r64->machine, EM_386);
}

// Xen's libelf loads a PT_LOAD only if one of R, W, X is set; the rest is skipped, not an error.
TEST(LoaderXenRules, SkipsLoadSegmentsWithoutPermissions)
{
    TestSegment none;
    none.paddr = 0x300000;
    none.bytes = pattern(32, 9);
    none.flags = 0;
    auto r = parse_elf(good_pvh64().raw_segment(none).build());
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->segments.size(), 1u);
    for (const auto& seg : r->segments)
        EXPECT_NE(seg.paddr, 0x300000u);
    ASSERT_FALSE(r->warnings.empty());
    EXPECT_THAT(r->warnings.back(), HasSubstr("without R, W or X"));
}

// Xen pads note names and descriptors to 4 bytes in every class; p_align does not change that.
TEST(LoaderXenRules, NotesAreReadWithFourBytePaddingWhateverTheAlignment)
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x1000000).segment(0x1000000, pattern(0x1000, 1)).string_note(XEN_ELFNOTE_GUEST_OS, "linux")
        .phys32_entry(0x1000040, 8).notes_in(NotePlace::Segment);
    auto file = b.build();
    // Claim 8-byte alignment for every PT_NOTE: the notes stay 4-byte padded and must still be found.
    Elf64_Ehdr eh;
    std::memcpy(&eh, file.data(), sizeof eh);
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        std::memcpy(&ph, file.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_NOTE) {
            ph.p_align = 8;
            std::memcpy(file.data() + eh.e_phoff + i * sizeof ph, &ph, sizeof ph);
        }
    }
    auto r = parse_elf(file);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->notes.phys32_entry);
    EXPECT_EQ(*r->notes.phys32_entry, 0x1000040u);
}
