// xkvm-vmm refuses a kernel it cannot boot with a non-zero exit and a message that names the file and
// says what is wrong with it.
// XKVM-OWN: xkvm-vmm's own refusals and messages (xl's come from libxenguest, worded its own way).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <elf.h>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "guest_runner.h"
#include "guest_test.h"

using namespace xkvm::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// The VMM sets up its backend before it loads the kernel: the kvm variant needs /dev/kvm for that.
class conformance_malformed_kernel : public GuestTest {
protected:
    void SetUp() override
    {
        GuestTest::SetUp();
        if (IsSkipped())
            return;
        std::string tmpl = ::testing::TempDir() + "xkvm-malformed-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        m_dir = tmpl;
    }
    void TearDown() override
    {
        if (!m_dir.empty())
            std::filesystem::remove_all(m_dir);
    }

    std::string write_file(const std::string& name, const std::string& bytes)
    {
        std::string path = m_dir + "/" + name;
        std::ofstream(path, std::ios::binary) << bytes;
        return path;
    }

    // Runs xkvm-vmm on `kernel` and checks it refused it, naming the file and saying `why`.
    void expect_refused(const std::string& kernel, const std::string& why, const std::string& type = "pvh")
    {
        GuestOptions opts;
        opts.kernel = kernel;
        opts.type = type;
        opts.name = "conf-malformed";
        opts.timeout = std::chrono::seconds(30);
        std::vector<std::string> argv { vmm_path() };
        for (auto& a : vmm_arguments(opts))
            argv.push_back(a);
        ProcessResult r = run_process(argv, opts.timeout);
        ASSERT_TRUE(r.started) << r.spawn_error;
        ASSERT_FALSE(r.timed_out) << r.err;
        EXPECT_EQ(r.term_signal, 0) << r.err;
        EXPECT_NE(r.exit_code, 0) << r.err;
        EXPECT_THAT(r.err, HasSubstr(kernel)) << "the message names the file";
        EXPECT_THAT(r.err, HasSubstr(why));
        EXPECT_THAT(r.err, Not(HasSubstr("domain conf-malformed:"))) << "no domain ran";
        EXPECT_EQ(r.out, "") << "no console output";
    }

    std::string m_dir;
};

// A valid little 64-bit ET_EXEC image with one PT_LOAD at 1 MiB and no notes at all.
std::string elf64_without_notes()
{
    Elf64_Ehdr eh {};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_entry = 0x100000;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 1;
    Elf64_Phdr ph {};
    ph.p_type = PT_LOAD;
    ph.p_flags = PF_R | PF_X;
    ph.p_offset = 0x1000;
    ph.p_vaddr = ph.p_paddr = 0x100000;
    ph.p_filesz = ph.p_memsz = 16;
    ph.p_align = 0x1000;
    std::string bytes(0x1000 + 16, '\0');
    std::memcpy(bytes.data(), &eh, sizeof(eh));
    std::memcpy(bytes.data() + sizeof(eh), &ph, sizeof(ph));
    std::memset(bytes.data() + 0x1000, 0xf4, 16); // hlt
    return bytes;
}

} // namespace

TEST_F(conformance_malformed_kernel, missing_file)
{
    expect_refused(m_dir + "/no-such-kernel.elf", "file not found");
}

TEST_F(conformance_malformed_kernel, empty_file)
{
    expect_refused(write_file("empty.elf", ""), "empty");
}

TEST_F(conformance_malformed_kernel, not_an_elf_file)
{
    expect_refused(write_file("text.elf", "#!/bin/sh\necho this is not a kernel\n"), "not an ELF file");
}

TEST_F(conformance_malformed_kernel, elf64_without_pvh_note)
{
    expect_refused(write_file("nonote.elf", elf64_without_notes()), "XEN_ELFNOTE_PHYS32_ENTRY");
}

TEST_F(conformance_malformed_kernel, truncated_elf)
{
    std::string elf = elf64_without_notes();
    expect_refused(write_file("truncated.elf", elf.substr(0, 40)), "truncated");
}

TEST_F(conformance_malformed_kernel, directory)
{
    expect_refused(m_dir, "not a regular file");
}
