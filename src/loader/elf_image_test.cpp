#include "loader/elf_image.h"

#include <elf.h>

#include <cstdlib>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "loader/test_elf_builder.h"
#include "memory/memory_map.h"
#include "xen/abi/elfnote.h"

using namespace xkvm;
using namespace xkvm::loader;
using namespace xkvm::loader::test;
using memory::MiB;
using ::testing::HasSubstr;

namespace {

ElfBuilder good_pvh64()
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x1000000)
        .segment(0x1000000, pattern(0x3000, 1))
        .segment(0x1004000, pattern(0x800, 2), 0x2000) // 0x1800 bytes of bss
        .string_note(XEN_ELFNOTE_GUEST_OS, "linux")
        .string_note(XEN_ELFNOTE_XEN_VERSION, "xen-3.0")
        .phys32_entry(0x1000040, 8);
    return b;
}

std::string parse_error(const std::vector<uint8_t>& file)
{
    auto r = parse_elf(file);
    EXPECT_FALSE(r) << "parsed a malformed file";
    return r ? std::string() : r.error().message;
}

} // namespace

TEST(LoaderParseElf, Good64BitImage)
{
    auto r = parse_elf(good_pvh64().build());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->elf_class, ElfClass::Elf64);
    EXPECT_EQ(r->machine, EM_X86_64);
    EXPECT_EQ(r->entry, 0x1000000u);
    ASSERT_EQ(r->segments.size(), 2u);
    EXPECT_EQ(r->segments[0].paddr, 0x1000000u);
    EXPECT_EQ(r->segments[0].file_size, 0x3000u);
    EXPECT_EQ(r->segments[1].file_size, 0x800u);
    EXPECT_EQ(r->segments[1].mem_size, 0x2000u);
    EXPECT_EQ(r->low(), 0x1000000u);
    EXPECT_EQ(r->high(), 0x1006000u);
    EXPECT_EQ(r->notes.phys32_entry, 0x1000040u);
    EXPECT_EQ(r->notes.guest_os, "linux");
    EXPECT_EQ(r->notes.xen_version, "xen-3.0");
    EXPECT_EQ(r->notes.count, 3u);
    EXPECT_TRUE(r->warnings.empty());
}

TEST(LoaderParseElf, Good32BitImage)
{
    ElfBuilder b(ElfClass::Elf32);
    b.entry(0x100000).segment(0x100000, pattern(0x1000, 3), 0x4000).phys32_entry(0x100010);
    auto r = parse_elf(b.build());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->elf_class, ElfClass::Elf32);
    EXPECT_EQ(r->machine, EM_386);
    EXPECT_EQ(r->notes.phys32_entry, 0x100010u);
    EXPECT_EQ(r->high(), 0x104000u);
}

TEST(LoaderParseElf, NotesFromSectionsWhenNoNoteSegment)
{
    auto b = good_pvh64();
    b.notes_in(NotePlace::Section);
    auto r = parse_elf(b.build());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->segments.size(), 2u);
    EXPECT_EQ(r->notes.phys32_entry, 0x1000040u);
    EXPECT_EQ(r->notes.guest_os, "linux");
}

TEST(LoaderParseElf, NotesInBothPlacesCountedOnce)
{
    auto b = good_pvh64();
    b.notes_in(NotePlace::Both);
    auto r = parse_elf(b.build());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->notes.count, 3u);
}

TEST(LoaderParseElf, IgnoresNotesOfOtherOwners)
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x100000).segment(0x100000, pattern(0x100, 4)).note(XEN_ELFNOTE_PHYS32_ENTRY, { 1, 2, 3, 4 }, "GNU");
    auto r = parse_elf(b.build());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->notes.phys32_entry);
    EXPECT_EQ(r->notes.count, 0u);
}

TEST(LoaderParseElf, SkipsEmptyLoadSegments)
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x100000).segment(0x100000, pattern(0x100, 4)).raw_segment(make_segment(PT_LOAD, 0x100000, {}, 0));
    auto r = parse_elf(b.build());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->segments.size(), 1u);
}

TEST(LoaderParseElf, RejectsEmptyAndNonElf)
{
    EXPECT_THAT(parse_error({}), HasSubstr("not an ELF file"));
    EXPECT_THAT(parse_error({ '#', '!', '/', 'b', 'i', 'n' }), HasSubstr("not an ELF file"));
    auto file = good_pvh64().build();
    file[1] = 'F';
    EXPECT_THAT(parse_error(file), HasSubstr("bad magic"));
    EXPECT_EQ(parse_elf(file).error().code, ENOEXEC);
}

TEST(LoaderParseElf, RejectsTruncatedHeaders)
{
    auto file = good_pvh64().build();
    EXPECT_THAT(parse_error({ file.begin(), file.begin() + 10 }), HasSubstr("truncated ELF header"));
    EXPECT_THAT(parse_error({ file.begin(), file.begin() + 40 }), HasSubstr("truncated ELF header"));
    EXPECT_THAT(parse_error({ file.begin(), file.begin() + 80 }), HasSubstr("program header table"));
}

TEST(LoaderParseElf, EveryTruncationFailsCleanly)
{
    auto file = good_pvh64().build();
    for (size_t len = 0; len < file.size(); len++) {
        auto r = parse_elf(std::span(file.data(), len));
        if (r) {
            ADD_FAILURE() << "parsed a file truncated to " << len << " of " << file.size() << " bytes";
        } else {
            EXPECT_FALSE(r.error().message.empty());
        }
    }
}

TEST(LoaderParseElf, BitFlipsNeverCrash)
{
    auto file = good_pvh64().notes_in(NotePlace::Both).build();
    size_t ok = 0;
    for (size_t i = 0; i < file.size(); i++) {
        auto copy = file;
        copy[i] ^= 0xff;
        auto r = parse_elf(copy);
        if (r) {
            ok++;
            EXPECT_FALSE(r->segments.empty());
        } else {
            EXPECT_FALSE(r.error().message.empty());
        }
    }
    EXPECT_GT(ok, 0u); // segment payload bytes are not checked, so those flips parse
}

TEST(LoaderParseElf, RejectsWrongClassDataVersion)
{
    auto file = good_pvh64().build();
    auto bad = file;
    bad[EI_CLASS] = 3;
    EXPECT_THAT(parse_error(bad), HasSubstr("unsupported ELF class 3"));
    bad = file;
    bad[EI_DATA] = ELFDATA2MSB;
    EXPECT_THAT(parse_error(bad), HasSubstr("not a little-endian"));
    bad = file;
    bad[EI_VERSION] = 7;
    EXPECT_THAT(parse_error(bad), HasSubstr("unsupported ELF version"));
}

TEST(LoaderParseElf, RejectsNonExecutables)
{
    EXPECT_THAT(parse_error(good_pvh64().type(ET_DYN).build()), HasSubstr("ET_DYN"));
    EXPECT_THAT(parse_error(good_pvh64().type(ET_REL).build()), HasSubstr("not an executable"));
    EXPECT_THAT(parse_error(good_pvh64().type(ET_CORE).build()), HasSubstr("not an executable"));
    ElfBuilder object(ElfClass::Elf64); // a .o: no program headers, but the type is what is wrong
    EXPECT_THAT(parse_error(object.type(ET_REL).build()), HasSubstr("not an executable (ELF type 1)"));
}

TEST(LoaderParseElf, RejectsBadProgramHeaderTable)
{
    ElfBuilder none(ElfClass::Elf64);
    EXPECT_THAT(parse_error(none.build()), HasSubstr("no program headers"));

    auto file = good_pvh64().build();
    auto bad = file;
    poke<uint16_t>(bad, offsetof(Elf64_Ehdr, e_phentsize), 32);
    EXPECT_THAT(parse_error(bad), HasSubstr("program header size 32"));
    bad = file;
    poke<uint16_t>(bad, offsetof(Elf64_Ehdr, e_phnum), 500);
    EXPECT_THAT(parse_error(bad), HasSubstr("extends past the end of the file"));
    bad = file;
    poke<uint16_t>(bad, offsetof(Elf64_Ehdr, e_phnum), PN_XNUM);
    EXPECT_THAT(parse_error(bad), HasSubstr("PN_XNUM"));
    bad = file;
    poke<uint64_t>(bad, offsetof(Elf64_Ehdr, e_phoff), ~0ull - 8);
    EXPECT_THAT(parse_error(bad), HasSubstr("program header table"));
}

TEST(LoaderParseElf, RejectsSectionTableOutsideFile)
{
    auto file = good_pvh64().notes_in(NotePlace::Both).build();
    poke<uint64_t>(file, offsetof(Elf64_Ehdr, e_shoff), file.size() - 8);
    EXPECT_THAT(parse_error(file), HasSubstr("section header table"));
}

TEST(LoaderParseElf, RejectsNoLoadableSegments)
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x100000).raw_segment(make_segment(PT_NOTE, 0, pattern(12, 0), 0));
    EXPECT_THAT(parse_error(b.build()), HasSubstr("no loadable"));
}

TEST(LoaderParseElf, RejectsSegmentBeyondFileEnd)
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x100000).raw_segment(make_segment(PT_LOAD, 0x100000, pattern(64, 1), 0x10000, 0x100000));
    EXPECT_THAT(parse_error(b.build()), HasSubstr("segment 0: file bytes at offset 0x100000+0x40 extend past the end"));
    ElfBuilder wrap(ElfClass::Elf64);
    wrap.entry(0x100000).raw_segment(make_segment(PT_LOAD, 0x100000, pattern(64, 1), ~0ull, 0x40, ~0ull - 0x20));
    EXPECT_THAT(parse_error(wrap.build()), HasSubstr("extend past the end"));
}

TEST(LoaderParseElf, RejectsFileSizeAboveMemorySize)
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x100000).segment(0x100000, pattern(0x100, 1)).raw_segment(make_segment(PT_LOAD, 0x200000, pattern(0x100, 1), 0x80));
    EXPECT_THAT(parse_error(b.build()), HasSubstr("segment 1: file size 0x100 exceeds memory size 0x80"));
}

TEST(LoaderParseElf, RejectsAddressWrap)
{
    ElfBuilder b64(ElfClass::Elf64);
    b64.entry(0x100000).segment(~0ull - 0xfff, pattern(0x100, 1), 0x2000);
    EXPECT_THAT(parse_error(b64.build()), HasSubstr("wraps around the 64-bit address space"));
    ElfBuilder b32(ElfClass::Elf32);
    b32.entry(0x100000).segment(0xfffff000, pattern(0x100, 1), 0x2000);
    EXPECT_THAT(parse_error(b32.build()), HasSubstr("segment 0: 0xfffff000+0x2000 wraps around the 32-bit"));
}

TEST(LoaderParseElf, RejectsOverlappingSegments)
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x100000).segment(0x200000, pattern(0x100, 1), 0x1000).segment(0x100000, pattern(0x100, 2))
        .segment(0x200800, pattern(0x100, 3));
    EXPECT_THAT(parse_error(b.build()), HasSubstr("segments 0 [0x200000-0x200fff] and 2 [0x200800-0x2008ff] overlap"));
}

TEST(LoaderParseElf, AdjacentSegmentsAreFine)
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x100000).segment(0x100000, pattern(0x100, 1), 0x1000).segment(0x101000, pattern(0x100, 2));
    EXPECT_TRUE(parse_elf(b.build()));
}

TEST(LoaderParseElf, RejectsMalformedPhys32Note)
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x100000).segment(0x100000, pattern(0x100, 1)).phys32_entry(0x100000, 2);
    EXPECT_THAT(parse_error(b.build()), HasSubstr("note segment 1: XEN_ELFNOTE_PHYS32_ENTRY note has a 2-byte descriptor"));
    ElfBuilder high(ElfClass::Elf64);
    high.entry(0x100000).segment(0x100000, pattern(0x100, 1)).phys32_entry(0x100000000ull, 8);
    EXPECT_THAT(parse_error(high.build()), HasSubstr("not a 32-bit address"));
    ElfBuilder twice(ElfClass::Elf64);
    twice.entry(0x100000).segment(0x100000, pattern(0x100, 1)).phys32_entry(0x100000).phys32_entry(0x100010);
    EXPECT_THAT(parse_error(twice.build()), HasSubstr("conflicting"));
    twice.notes_in(NotePlace::Section);
    EXPECT_THAT(parse_error(twice.build()), HasSubstr("note section 1: conflicting"));
}

TEST(LoaderParseElf, RejectsNoteSegmentOutsideFile)
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x100000).segment(0x100000, pattern(0x100, 1))
        .raw_segment(make_segment(PT_NOTE, 0, pattern(12, 0), 0, 1 * MiB));
    EXPECT_THAT(parse_error(b.build()), HasSubstr("note segment 1: offset 0x100000+0xc extends past the end"));
}

TEST(LoaderParseElf, TruncatedNoteIsAWarning)
{
    ElfBuilder b(ElfClass::Elf64);
    // A note header claiming a 64-byte descriptor in a 16-byte note segment.
    std::vector<uint8_t> note = { 4, 0, 0, 0, 64, 0, 0, 0, 18, 0, 0, 0, 'X', 'e', 'n', 0 };
    b.entry(0x100000).segment(0x100000, pattern(0x100, 1)).raw_segment(make_segment(PT_NOTE, 0, note, 0));
    auto r = parse_elf(b.build());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->notes.phys32_entry);
    ASSERT_EQ(r->warnings.size(), 1u);
    EXPECT_THAT(r->warnings[0], HasSubstr("malformed note"));
}

// The fuzz target's seed corpus (fuzz/corpus/elf_fuzz/) is this set; with XKVM_ELF_CORPUS_DIR set, the
// test (re)writes it there.
TEST(LoaderParseElf, FuzzSeedsParse)
{
    std::vector<std::pair<std::string, std::vector<uint8_t>>> seeds;
    ElfBuilder pvh64(ElfClass::Elf64);
    pvh64.entry(0x1000000)
        .segment(0x1000000, pattern(0x40, 1))
        .segment(0x1001000, pattern(0x20, 2), 0x800)
        .string_note(XEN_ELFNOTE_GUEST_OS, "linux")
        .phys32_entry(0x1000010, 8);
    seeds.emplace_back("pvh64", pvh64.build());
    seeds.emplace_back("pvh64_section_notes", pvh64.notes_in(NotePlace::Section).build());
    ElfBuilder pvh32(ElfClass::Elf32);
    pvh32.entry(0x100000).segment(0x100000, pattern(0x40, 3), 0x1000).phys32_entry(0x100000)
        .string_note(XEN_ELFNOTE_LOADER, "generic");
    seeds.emplace_back("pvh32", pvh32.build());
    ElfBuilder fw32(ElfClass::Elf32);
    fw32.entry(0x100000).segment(0x100000, pattern(0x40, 4)).segment(0x200000, pattern(0x20, 5), 0x100);
    seeds.emplace_back("firmware32", fw32.build());
    const char* dir = std::getenv("XKVM_ELF_CORPUS_DIR");
    for (const auto& [name, bytes] : seeds) {
        EXPECT_TRUE(parse_elf(bytes)) << name;
        EXPECT_LT(bytes.size(), 4096u) << name; // small seeds keep the fuzzer fast
        if (dir)
            std::ofstream(std::string(dir) + "/" + name, std::ios::binary)
                .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    }
}
