// Issue 8: Xen's loader rules. A firmware image in an ELF32 container whose machine is EM_X86_64 --
// what `objcopy -O elf32-x86-64` makes of a 64-bit link, a usual way to ship an image with a 32-bit
// entry that switches to long mode itself -- boots as HVM firmware, as it does on Xen. The image is
// the conformance boot guest (64-bit code) converted that way at build time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <elf.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "guest_runner.h"
#include "guest_test.h"
#include "xkvm/guest_paths.h"

using namespace xkvm::test;
using ::testing::HasSubstr;

namespace {

using ElfContainer = GuestTest;

const std::string kImage = std::string(XKVM_GUEST_DIR) + "/conf_boot64_elf32.elf";

// Xen 4.19: tools/libs/guest/xg_dom_hvmloader.c, xc_dom_probe_hvm_kernel (any ELF without Xen notes
// loads as HVM firmware; the machine field is not looked at).
TEST_F(ElfContainer, Elf32WithEmX86_64BootsAsHvmFirmware)
{
    std::ifstream in(kImage, std::ios::binary);
    ASSERT_TRUE(in) << kImage << " is missing: build the guests";
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GE(bytes.size(), sizeof(Elf32_Ehdr));
    Elf32_Ehdr eh;
    std::memcpy(&eh, bytes.data(), sizeof eh);
    ASSERT_EQ(eh.e_ident[EI_CLASS], ELFCLASS32) << "the image must be an ELF32 container";
    ASSERT_EQ(eh.e_machine, EM_X86_64) << "with the 64-bit machine";

    GuestOptions o;
    o.type = "hvm";
    o.kernel = kImage;
    o.name = "elf32-x86-64";
    GuestRun run = run_guest(vmm_path(), o);
    ASSERT_TRUE(run.process.started) << run.process.spawn_error;
    EXPECT_FALSE(run.process.timed_out) << run.describe();
    EXPECT_THAT(run.fails, ::testing::IsEmpty()) << run.describe();
    EXPECT_EQ(run.result.value_or("(no RESULT line)"), "PASS") << run.describe();
    for (const char* c : { "xen_is_usable", "hvm_ebx_is_zero", "hvm_memory_map_from_xen" })
        EXPECT_TRUE(run.passed(c)) << "no PASS line for " << c << "\n" << run.describe();
    EXPECT_EQ(run.process.exit_code, 0) << run.describe();
    EXPECT_THAT(run.process.err, HasSubstr(shutdown_message("elf32-x86-64", "poweroff")));
}

} // namespace
