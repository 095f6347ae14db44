#include "loader/loader.h"

#include <elf.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "loader/test_elf_builder.h"
#include "xen/abi/elfnote.h"
#include "xen/abi/hvm.h"

using namespace xkvm;
using namespace xkvm::loader;
using namespace xkvm::loader::test;
using memory::MemoryMap;
using memory::MiB;
using memory::RegionType;
using ::testing::HasSubstr;

namespace {

constexpr uint8_t kPoison = 0xaa;
constexpr uint64_t kGuestBytes = 24 * MiB;

// 24 MiB guest: RAM below 640 KiB, the legacy area reserved, RAM from 1 MiB up.
MemoryMap guest_map()
{
    return {
        { 0x0, 0xa0000, RegionType::Ram, "" },
        { 0xa0000, 0x60000, RegionType::Reserved, "legacy VGA/BIOS" },
        { 0x100000, kGuestBytes - 0x100000, RegionType::Ram, "" },
    };
}

class LoaderTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/xkvm-loader-test-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        m_dir = tmpl;
        auto pm = memory::Physmap::create(kGuestBytes, "loader-test");
        ASSERT_TRUE(pm) << pm.error().message;
        m_physmap = pm.release_value();
        for (const auto& e : m_map) {
            if (e.type == RegionType::Ram) {
                ASSERT_TRUE(m_physmap->map(e.base, e.size, e.base));
            }
        }
        std::memset(m_physmap->host_base(), kPoison, kGuestBytes);
    }
    void TearDown() override { std::filesystem::remove_all(m_dir); }

    std::string write_file(const std::string& name, const std::vector<uint8_t>& bytes)
    {
        std::string path = m_dir + "/" + name;
        std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
        return path;
    }
    std::vector<uint8_t> guest(memory::Gpa gpa, size_t len)
    {
        std::vector<uint8_t> out(len);
        EXPECT_TRUE(m_physmap->read(gpa, out));
        return out;
    }
    bool guest_untouched()
    {
        const uint8_t* p = m_physmap->host_base();
        return std::all_of(p, p + kGuestBytes, [](uint8_t b) { return b == kPoison; });
    }
    std::string load_error(const LoadRequest& req)
    {
        auto r = load_kernel(*m_physmap, m_map, req);
        EXPECT_FALSE(r) << "loaded";
        EXPECT_TRUE(guest_untouched()) << "a failed load wrote guest memory";
        return r ? std::string() : r.error().message;
    }

    std::string m_dir;
    MemoryMap m_map = guest_map();
    std::unique_ptr<memory::Physmap> m_physmap;
};

ElfBuilder pvh_kernel(ElfClass cls)
{
    ElfBuilder b(cls);
    b.entry(0x1000000)
        .segment(0x1000000, pattern(0x2345, 1))
        .segment(0x1003000, pattern(0x100, 2), 0x3000) // bss after 0x100 bytes
        .string_note(XEN_ELFNOTE_GUEST_OS, "testos")
        .phys32_entry(0x1000080, cls == ElfClass::Elf64 ? 8 : 4);
    return b;
}

} // namespace

TEST_F(LoaderTest, LoadsPvh64WithStartInfo)
{
    auto ramdisk = pattern(3 * MiB + 123, 9); // more than one copy chunk
    LoadRequest req { BootProtocol::Pvh, write_file("k.elf", pvh_kernel(ElfClass::Elf64).build()),
                      write_file("initrd", ramdisk), "console=hvc0 root=/dev/ram0", 0 };
    auto r = load_kernel(*m_physmap, m_map, req);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->protocol, BootProtocol::Pvh);
    EXPECT_EQ(r->entry, 0x1000080u);
    EXPECT_EQ(r->elf_class, ElfClass::Elf64);
    EXPECT_EQ(r->image_low, 0x1000000u);
    EXPECT_EQ(r->image_high, 0x1006000u);
    EXPECT_EQ(r->notes.guest_os, "testos");

    // Segments at their physical addresses; the gap between them and the bss as expected.
    EXPECT_EQ(guest(0x1000000, 0x2345), pattern(0x2345, 1));
    EXPECT_EQ(guest(0x1003000, 0x100), pattern(0x100, 2));
    EXPECT_EQ(guest(0x1003100, 0x2f00), std::vector<uint8_t>(0x2f00, 0));
    EXPECT_EQ(guest(0x1002345, 1)[0], kPoison); // between segments: not part of the image

    // ebx -> start info, page aligned above the image.
    ASSERT_EQ(r->ebx, r->pvh.start_info);
    EXPECT_EQ(r->ebx, 0x1006000u);
    auto si = m_physmap->read_obj<hvm_start_info>(r->ebx);
    ASSERT_TRUE(si);
    EXPECT_EQ(si->magic, XEN_HVM_START_MAGIC_VALUE);
    EXPECT_EQ(si->version, 1u);
    EXPECT_EQ(si->flags, 0u);
    EXPECT_EQ(si->rsdp_paddr, 0u);

    ASSERT_EQ(si->memmap_entries, m_map.size());
    for (size_t i = 0; i < m_map.size(); i++) {
        auto e = m_physmap->read_obj<hvm_memmap_table_entry>(si->memmap_paddr + i * sizeof(hvm_memmap_table_entry));
        ASSERT_TRUE(e);
        EXPECT_EQ(e->addr, m_map[i].base);
        EXPECT_EQ(e->size, m_map[i].size);
        EXPECT_EQ(e->type, i == 1 ? XEN_HVM_MEMMAP_TYPE_RESERVED : XEN_HVM_MEMMAP_TYPE_RAM);
    }

    auto cmdline = guest(si->cmdline_paddr, req.cmdline.size() + 1);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(cmdline.data())), req.cmdline);

    ASSERT_EQ(si->nr_modules, 1u);
    auto mod = m_physmap->read_obj<hvm_modlist_entry>(si->modlist_paddr);
    ASSERT_TRUE(mod);
    EXPECT_EQ(mod->size, ramdisk.size());
    EXPECT_EQ(mod->paddr % memory::kPageSize, 0u);
    EXPECT_GE(mod->paddr, r->pvh.block().end());
    EXPECT_EQ(guest(mod->paddr, ramdisk.size()), ramdisk);
}

TEST_F(LoaderTest, LoadsPvh32)
{
    LoadRequest req { BootProtocol::Pvh, write_file("k32.elf", pvh_kernel(ElfClass::Elf32).build()), "", "", 0xf0000 };
    auto r = load_kernel(*m_physmap, m_map, req);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->elf_class, ElfClass::Elf32);
    EXPECT_EQ(r->entry, 0x1000080u);
    EXPECT_EQ(guest(0x1000000, 0x2345), pattern(0x2345, 1));
    auto si = m_physmap->read_obj<hvm_start_info>(r->ebx);
    ASSERT_TRUE(si);
    EXPECT_EQ(si->magic, XEN_HVM_START_MAGIC_VALUE);
    EXPECT_EQ(si->nr_modules, 0u);
    EXPECT_EQ(si->cmdline_paddr, 0u);
    EXPECT_EQ(si->rsdp_paddr, 0xf0000u);
}

TEST_F(LoaderTest, LoadsHvmFirmwareWithoutStartInfo)
{
    ElfBuilder fw(ElfClass::Elf32);
    fw.entry(0x100000).segment(0x100000, pattern(0x4000, 5), 0x8000);
    LoadRequest req { BootProtocol::HvmFirmware, write_file("hvmloader", fw.build()), "", "", 0 };
    auto r = load_kernel(*m_physmap, m_map, req);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->entry, 0x100000u);
    EXPECT_EQ(r->ebx, 0u);
    EXPECT_EQ(r->pvh.start_info, 0u);
    EXPECT_EQ(guest(0x100000, 0x4000), pattern(0x4000, 5));
    EXPECT_EQ(guest(0x104000, 0x4000), std::vector<uint8_t>(0x4000, 0));
    EXPECT_EQ(guest(0x108000, 0x1000), std::vector<uint8_t>(0x1000, kPoison)); // no boot data written
}

TEST_F(LoaderTest, HvmFirmwareTakesNoCmdlineOrRamdisk)
{
    ElfBuilder fw(ElfClass::Elf32);
    fw.entry(0x100000).segment(0x100000, pattern(0x100, 5));
    auto path = write_file("fw", fw.build());
    EXPECT_THAT(load_error({ BootProtocol::HvmFirmware, path, "", "quiet", 0 }), HasSubstr("only passed to PVH"));
    EXPECT_THAT(load_error({ BootProtocol::HvmFirmware, path, path, "", 0 }), HasSubstr("only passed to PVH"));
}

TEST_F(LoaderTest, PvhNeedsTheNote)
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x1000000).segment(0x1000000, pattern(0x100, 1));
    auto path = write_file("plain.elf", b.build());
    EXPECT_EQ(load_error({ BootProtocol::Pvh, path, "", "", 0 }),
              fmt::format("kernel {}: not a PVH kernel: no XEN_ELFNOTE_PHYS32_ENTRY note", path));
    // The same file is a fine HVM firmware image.
    EXPECT_TRUE(load_kernel(*m_physmap, m_map, { BootProtocol::HvmFirmware, path, "", "", 0 }));
}

TEST_F(LoaderTest, EntryMustBeInsideALoadedSegment)
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x1000000).segment(0x1000000, pattern(0x100, 1), 0x1000).phys32_entry(0x1000800);
    auto bss = write_file("b", b.build());
    EXPECT_THAT(load_error({ BootProtocol::Pvh, bss, "", "", 0 }),
                HasSubstr("XEN_ELFNOTE_PHYS32_ENTRY 0x1000800 is not inside a loaded segment"));

    ElfBuilder fw(ElfClass::Elf64);
    fw.entry(0xffffffff81000000ull).segment(0x1000000, pattern(0x100, 1));
    EXPECT_THAT(load_error({ BootProtocol::HvmFirmware, write_file("c", fw.build()), "", "", 0 }),
                HasSubstr("ELF entry point 0xffffffff81000000 is not a 32-bit physical address"));
    fw.entry(0x2000000);
    EXPECT_THAT(load_error({ BootProtocol::HvmFirmware, write_file("d", fw.build()), "", "", 0 }),
                HasSubstr("ELF entry point 0x2000000 is not inside a loaded segment"));
}

TEST_F(LoaderTest, SegmentOutsideRam)
{
    auto b = pvh_kernel(ElfClass::Elf64);
    b.segment(kGuestBytes, pattern(0x10, 1), 0x2000); // past the end of RAM
    auto path = write_file("big.elf", b.build());
    EXPECT_EQ(load_error({ BootProtocol::Pvh, path, "", "", 0 }),
              fmt::format("kernel {}: segment 2 [0x1800000-0x1801fff] lies outside guest RAM", path));
}

TEST_F(LoaderTest, SegmentInReservedRegion)
{
    ElfBuilder b(ElfClass::Elf32);
    b.entry(0x90000).segment(0x90000, pattern(0x100, 1), 0x20000).phys32_entry(0x90000);
    auto path = write_file("low.elf", b.build());
    EXPECT_EQ(load_error({ BootProtocol::Pvh, path, "", "", 0 }),
              fmt::format("kernel {}: segment 0 [0x90000-0xaffff] overlaps the reserved region "
                          "[0xa0000-0xfffff] (legacy VGA/BIOS)", path));
}

TEST_F(LoaderTest, SegmentInHole)
{
    m_map = { { 0x0, 0xa0000, RegionType::Ram, "" }, { 0x2000000, 32 * MiB, RegionType::Ram, "" } };
    auto path = write_file("k.elf", pvh_kernel(ElfClass::Elf64).build());
    EXPECT_THAT(load_error({ BootProtocol::Pvh, path, "", "", 0 }), HasSubstr("segment 0 [0x1000000-0x1002344] lies outside guest RAM"));
}

TEST_F(LoaderTest, MissingEmptyAndOddFiles)
{
    auto missing = m_dir + "/nope.elf";
    auto r = load_kernel(*m_physmap, m_map, { BootProtocol::Pvh, missing, "", "", 0 });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOENT);
    EXPECT_EQ(r.error().message, fmt::format("kernel {}: file not found", missing));
    EXPECT_THAT(load_error({ BootProtocol::HvmFirmware, missing, "", "", 0 }), HasSubstr("firmware " + missing + ": file not found"));
    EXPECT_THAT(load_error({ BootProtocol::Pvh, write_file("empty", {}), "", "", 0 }), HasSubstr("file is empty"));
    EXPECT_THAT(load_error({ BootProtocol::Pvh, m_dir, "", "", 0 }), HasSubstr("not a regular file"));
    EXPECT_THAT(load_error({ BootProtocol::Pvh, "", "", "", 0 }), HasSubstr("no kernel file given"));
    auto text = write_file("script", { '#', '!', '/', 'b', 'i', 'n', '/', 's', 'h', '\n' });
    EXPECT_EQ(load_error({ BootProtocol::Pvh, text, "", "", 0 }), fmt::format("kernel {}: not an ELF file (bad magic)", text));
}

TEST_F(LoaderTest, TooLargeFile)
{
    auto path = m_dir + "/sparse";
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, off_t(kMaxElfFileBytes + 1)), 0);
    ::close(fd);
    auto r = load_kernel(*m_physmap, m_map, { BootProtocol::Pvh, path, "", "", 0 });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EFBIG);
}

TEST_F(LoaderTest, MalformedKernelsNamePathAndProblem)
{
    auto b = pvh_kernel(ElfClass::Elf64);
    auto file = b.build();
    auto truncated = write_file("trunc", { file.begin(), file.end() - 100 });
    EXPECT_THAT(load_error({ BootProtocol::Pvh, truncated, "", "", 0 }),
                HasSubstr("kernel " + truncated + ": segment 1: file bytes at offset"));
    auto arm = write_file("arm", b.machine(EM_AARCH64).build());
    EXPECT_THAT(load_error({ BootProtocol::Pvh, arm, "", "", 0 }), HasSubstr("kernel " + arm + ": wrong machine 183"));
}

TEST_F(LoaderTest, MissingRamdiskAndHugeCmdline)
{
    auto k = write_file("k.elf", pvh_kernel(ElfClass::Elf64).build());
    auto missing = m_dir + "/initrd";
    EXPECT_EQ(load_error({ BootProtocol::Pvh, k, missing, "", 0 }), fmt::format("ramdisk {}: file not found", missing));
    auto r = load_kernel(*m_physmap, m_map, { BootProtocol::Pvh, k, "", std::string(5000, 'c'), 0 });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_THAT(r.error().message, HasSubstr("command line is 5000 bytes long"));
    EXPECT_TRUE(guest_untouched());
}

TEST_F(LoaderTest, RamdiskThatFitsNowhere)
{
    auto k = write_file("k.elf", pvh_kernel(ElfClass::Elf64).build());
    auto rd = m_dir + "/huge-initrd";
    int fd = ::open(rd.c_str(), O_CREAT | O_WRONLY, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, off_t(kGuestBytes)), 0);
    ::close(fd);
    auto msg = load_error({ BootProtocol::Pvh, k, rd, "", 0 });
    EXPECT_THAT(msg, HasSubstr("no room in guest RAM below 4 GiB for the 25165824-byte ramdisk"));
}

TEST_F(LoaderTest, BootDataMovesBelowAnImageThatFillsRam)
{
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x100000).segment(0x100000, pattern(0x1000, 1), kGuestBytes - 0x100000).phys32_entry(0x100000);
    auto r = load_kernel(*m_physmap, m_map, { BootProtocol::Pvh, write_file("k", b.build()), "", "hi", 0 });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->ebx, 0x1000u);
    auto si = m_physmap->read_obj<hvm_start_info>(r->ebx);
    ASSERT_TRUE(si);
    EXPECT_EQ(si->magic, XEN_HVM_START_MAGIC_VALUE);
    EXPECT_EQ(guest(si->cmdline_paddr, 3), (std::vector<uint8_t> { 'h', 'i', 0 }));
}

TEST_F(LoaderTest, UnmappedRamIsReportedNotCrashed)
{
    // The map claims RAM the physmap does not back: a VMM bug, reported as an error.
    m_map.push_back({ 0x4000000, 16 * MiB, RegionType::Ram, "" });
    ElfBuilder b(ElfClass::Elf64);
    b.entry(0x4000000).segment(0x4000000, pattern(0x100, 1)).phys32_entry(0x4000000);
    auto r = load_kernel(*m_physmap, m_map, { BootProtocol::Pvh, write_file("k", b.build()), "", "", 0 });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EFAULT);
    EXPECT_THAT(r.error().message, HasSubstr("loading segment 0"));
}

TEST_F(LoaderTest, CheckKernelFile)
{
    auto good = write_file("k.elf", pvh_kernel(ElfClass::Elf64).build());
    EXPECT_TRUE(check_kernel_file(good, BootProtocol::Pvh));
    EXPECT_TRUE(check_kernel_file(good, BootProtocol::HvmFirmware));
    auto st = check_kernel_file(m_dir + "/missing", BootProtocol::Pvh);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ENOENT);
    ElfBuilder plain(ElfClass::Elf32);
    plain.entry(0x100000).segment(0x100000, pattern(0x10, 1));
    auto fw = write_file("fw", plain.build());
    EXPECT_TRUE(check_kernel_file(fw, BootProtocol::HvmFirmware));
    EXPECT_THAT(check_kernel_file(fw, BootProtocol::Pvh).error().message, HasSubstr("not a PVH kernel"));
    EXPECT_THAT(check_kernel_file(write_file("junk", pattern(100, 3)), BootProtocol::Pvh).error().message,
                HasSubstr("not an ELF file"));
    EXPECT_TRUE(guest_untouched());
}

TEST_F(LoaderTest, CheckLoadRequest)
{
    auto k = write_file("k.elf", pvh_kernel(ElfClass::Elf64).build());
    auto rd = write_file("initrd", pattern(100, 1));
    EXPECT_TRUE(check_load_request({ BootProtocol::Pvh, k, rd, "quiet", 0 }));
    EXPECT_THAT(check_load_request({ BootProtocol::Pvh, k, m_dir + "/x", "", 0 }).error().message, HasSubstr("ramdisk"));
    EXPECT_THAT(check_load_request({ BootProtocol::Pvh, k, write_file("e", {}), "", 0 }).error().message, HasSubstr("empty"));
    EXPECT_THAT(check_load_request({ BootProtocol::Pvh, k, "", std::string(4096, 'x'), 0 }).error().message,
                HasSubstr("command line"));
    EXPECT_THAT(check_load_request({ BootProtocol::HvmFirmware, k, rd, "", 0 }).error().message, HasSubstr("only passed to PVH"));
}
