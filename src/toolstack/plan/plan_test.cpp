// plan_domain(): the VmSpec fields for the good configs of the config corpus, and every refusal.
#include "toolstack/plan/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "rdm/test_support.h"
#include "toolstack/plan/plan_test_support.h"
#include "vmm/vm_spec.h"

using namespace xkvm;
using namespace xkvm::plan;
using namespace xkvm::plan::test;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

const std::string kGood = std::string(XKVM_CONFIG_TESTDATA) + "/good/";

// A corpus file, its kernel (and ramdisk) pointed at real files in `s` through command-line overrides.
config::ParsedConfig corpus(const std::string& name, std::vector<std::string> overrides = {})
{
    auto parsed = config::parse_file(kGood + name, overrides);
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().str());
    return parsed ? parsed.release_value() : config::ParsedConfig {};
}

std::string plan_error(const config::DomainConfig& cfg, const PlanContext& ctx, int* code = nullptr)
{
    auto p = plan_domain(cfg, ctx);
    EXPECT_FALSE(p) << "planned although it should not";
    if (p)
        return {};
    if (code)
        *code = p.error().code;
    return p.error().message;
}

bool is_v4_uuid(const std::array<uint8_t, 16>& u)
{
    return (u[6] >> 4) == 4 && (u[8] & 0xc0) == 0x80;
}

} // namespace

// ---- Good configs ----

TEST(plan_domain, PvhMinimalFromTheCorpus)
{
    Scratch s;
    auto parsed = corpus("pvh_minimal.cfg", { "kernel=\"" + s.kernel() + "\"" });
    auto p = plan_domain(build(parsed), context(s, 12));
    ASSERT_TRUE(p) << p.error().message;
    const vmm::VmSpec& spec = p->spec;
    EXPECT_EQ(spec.domid, 12);
    EXPECT_EQ(spec.name, "tiny");
    EXPECT_EQ(spec.type, vmm::BootType::Pvh);
    EXPECT_EQ(spec.kernel, s.kernel());
    EXPECT_EQ(spec.ramdisk, "");
    EXPECT_EQ(spec.cmdline, "");
    EXPECT_EQ(spec.memory_mib, 32u); // libxl's default
    EXPECT_EQ(spec.maxmem_mib, 32u);
    EXPECT_EQ(spec.vcpus, 1u);
    EXPECT_EQ(spec.max_vcpus, 1u);
    EXPECT_EQ(spec.max_evtchn_port, 1023u);
    EXPECT_EQ(spec.memory_map, vmm::default_memory_map(32));
    EXPECT_TRUE(spec.cpuid.empty());
    EXPECT_TRUE(spec.vcpu_affinity.empty());
    EXPECT_TRUE(spec.memory_nodes.empty());
    EXPECT_EQ(spec.console_log, s.path("log") + "/console/12.log");
    EXPECT_TRUE(p->uuid_generated);
    EXPECT_TRUE(is_v4_uuid(spec.uuid));
    EXPECT_TRUE(p->warnings.empty()) << p->warnings.front();
    EXPECT_THAT(p->summary, HasSubstr("PVH domain \"tiny\" (domid 12)"));
    EXPECT_THAT(p->summary, HasSubstr("numa: single-node host"));
}

TEST(plan_domain, PvhDirectKernelCarriesRamdiskCmdlineAndSizes)
{
    Scratch s;
    auto parsed = corpus("pvh_direct_kernel.cfg",
                         { "kernel=\"" + s.kernel() + "\"", "ramdisk=\"" + s.ramdisk() + "\"" });
    auto p = plan_domain(build(parsed), context(s));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->spec.name, "pvh-web01");
    EXPECT_EQ(p->spec.ramdisk, s.ramdisk());
    EXPECT_EQ(p->spec.cmdline, "root=/dev/xvda1 ro console=hvc0 earlyprintk=xen");
    EXPECT_EQ(p->spec.memory_mib, 1024u);
    EXPECT_EQ(p->spec.maxmem_mib, 2048u);
    EXPECT_EQ(p->spec.vcpus, 2u);
    EXPECT_EQ(p->spec.max_vcpus, 4u);
    EXPECT_EQ(p->spec.memory_map, vmm::default_memory_map(1024)); // RAM is memory=, not maxmem=
    EXPECT_EQ(p->placement.hard.size(), 4u) << "every vCPU thread gets an affinity, online or not";
}

TEST(plan_domain, HvmWithFirmwareOverrideBootsTheFirmware)
{
    Scratch s;
    auto parsed = corpus("hvm_cpuid_xend.cfg", { "firmware_override=\"" + s.firmware() + "\"" });
    auto p = plan_domain(build(parsed), context(s));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->spec.type, vmm::BootType::Hvm);
    EXPECT_EQ(p->spec.kernel, s.firmware());
    EXPECT_EQ(p->spec.memory_map, vmm::default_memory_map(2048));
    // The seed's PV-extension bits arrive as an override of Xen leaf 2 EDX (cpuid_plan_test has the rest).
    bool found = false;
    for (const auto& o : p->spec.cpuid)
        if (o.leaf == 0x40000002 && o.reg == 3) {
            found = true;
            EXPECT_EQ(o.set, 0x7u);
            EXPECT_EQ(o.clear, ~0x7u);
        }
    EXPECT_TRUE(found);
}

TEST(plan_domain, UuidFromTheConfigIsKept)
{
    Scratch s;
    auto cfg = config_from(pvh_config(s, "uuid = \"7b7a3c52-1c1e-4a0e-9a4f-3d2b5d0e8f11\"\n"));
    auto p = plan_domain(cfg, context(s));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_FALSE(p->uuid_generated);
    EXPECT_EQ(config::Uuid { p->spec.uuid }.str(), "7b7a3c52-1c1e-4a0e-9a4f-3d2b5d0e8f11");
}

TEST(plan_domain, GeneratedUuidsAreRandomV4)
{
    Scratch s;
    auto cfg = config_from(pvh_config(s));
    auto a = plan_domain(cfg, context(s));
    auto b = plan_domain(cfg, context(s));
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(is_v4_uuid(a->spec.uuid));
    EXPECT_TRUE(is_v4_uuid(b->spec.uuid));
    EXPECT_NE(a->spec.uuid, b->spec.uuid);
    EXPECT_FALSE(config::Uuid { a->spec.uuid }.is_nil());
}

TEST(plan_domain, ConsoleLogPathFromContext)
{
    Scratch s;
    auto cfg = config_from(pvh_config(s));
    PlanContext ctx = context(s, 300);
    EXPECT_EQ(PlanContext {}.log_dir, "/var/log/xkvm") << "off the RAM-backed /run";
    ctx.log_dir = "/srv/xk";
    auto p = plan_domain(cfg, ctx);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->spec.console_log, "/srv/xk/console/300.log");
    ctx.console_log = "";
    p = plan_domain(cfg, ctx);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->spec.console_log, "");
    EXPECT_EQ(console_log_path("/var/log/xkvm", 5), "/var/log/xkvm/console/5.log");
}

TEST(plan_domain, PvhIgnoresFirmwareOverrideWithAWarning)
{
    Scratch s;
    auto p = plan_domain(config_from(pvh_config(s, "firmware_override = \"/x/pvgrub\"\n")), context(s));
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_EQ(p->warnings.size(), 1u);
    EXPECT_THAT(p->warnings[0], HasSubstr("firmware_override=\"/x/pvgrub\" is ignored"));
}

// ---- Refusals ----

TEST(plan_domain, PvIsRefusedSayingWhy)
{
    Scratch s;
    auto typed = parse("name = \"p\"\ntype = \"pv\"\nkernel = \"/k\"\n");
    PlanContext ctx = context(s);
    ctx.source = &typed;
    int code = 0;
    EXPECT_THAT(plan_error(build(typed), ctx, &code),
                StartsWith("test.cfg:2:8: a PV guest: xkvm cannot run PV guests, only HVM and PVH ones"));
    EXPECT_EQ(code, EOPNOTSUPP);
    // No type= at all is xl's default, PV; the message points at the file's start and says so.
    auto untyped = parse("name = \"p\"\nkernel = \"/k\"\n");
    ctx.source = &untyped;
    EXPECT_THAT(plan_error(build(untyped), ctx),
                StartsWith("test.cfg:1:1: no type= given, so this is a PV guest (xl's default): xkvm cannot run"));
}

TEST(plan_domain, DisksVifsAndVnumaAreRefusedNamingTheKey)
{
    Scratch s;
    auto disks = parse(pvh_config(s, "disk = [ '/srv/a.img,raw,xvda,rw' ]\n"));
    PlanContext ctx = context(s);
    ctx.source = &disks;
    int code = 0;
    EXPECT_THAT(plan_error(build(disks), ctx, &code),
                StartsWith("test.cfg:5:10: disk=: xkvm has no PV block backend yet, so vdev xvda would not reach"));
    EXPECT_EQ(code, EOPNOTSUPP);
    auto vifs = parse(pvh_config(s, "vif = [ 'bridge=xenbr0', '' ]\n"));
    ctx.source = &vifs;
    EXPECT_THAT(plan_error(build(vifs), ctx),
                StartsWith("test.cfg:5:9: vif=: xkvm has no PV network backend yet, so its 2 vifs would not reach"));
    auto vnuma = parse(pvh_config(s, "vnuma = [ [ 'pnode=0', 'size=64', 'vcpus=0' ] ]\n"));
    ctx.source = &vnuma;
    EXPECT_THAT(plan_error(build(vnuma), ctx),
                StartsWith("test.cfg:5:9: vnuma=: xkvm cannot give a guest a virtual NUMA topology yet"));
}

TEST(plan_domain, HvmWithoutFirmwareSaysWhatToDo)
{
    Scratch s;
    auto parsed = parse("name = \"h\"\ntype = \"hvm\"\nmemory = 128\n");
    PlanContext ctx = context(s);
    ctx.source = &parsed;
    int code = 0;
    std::string msg = plan_error(build(parsed), ctx, &code);
    EXPECT_EQ(code, EOPNOTSUPP);
    EXPECT_THAT(msg, StartsWith("test.cfg:2:8: type=\"hvm\" needs firmware_override="));
    EXPECT_THAT(msg, HasSubstr("no built-in HVM firmware"));
    EXPECT_THAT(msg, HasSubstr("type=\"pvh\" and kernel="));
}

TEST(plan_domain, CorpusHvmConfigsWithoutFirmwareAreRefused)
{
    Scratch s;
    auto basic = corpus("hvm_basic.cfg");
    PlanContext ctx = context(s);
    ctx.source = &basic;
    // builder="hvm" stands in for type=, and is what the message points at.
    EXPECT_THAT(plan_error(build(basic), ctx), StartsWith(kGood + "hvm_basic.cfg:12:11: type=\"hvm\" needs"));

    // Old xm configs named hvmloader in kernel=; that is not how xkvm is told about firmware.
    auto legacy = corpus("hvm_legacy_xm.cfg");
    EXPECT_THAT(plan_error(build(legacy), context(s)),
                HasSubstr("kernel=\"/usr/lib/xen/boot/hvmloader\" is not used for HVM guests"));
}

TEST(plan_domain, HvmDirectKernelBootIsRefused)
{
    Scratch s;
    auto cfg = config_from("name = \"h\"\ntype = \"hvm\"\nfirmware_override = \"" + s.firmware()
                           + "\"\ncmdline = \"console=ttyS0\"\n");
    int code = 0;
    EXPECT_THAT(plan_error(cfg, context(s), &code), HasSubstr("direct kernel boot, which xkvm does for PVH guests only"));
    EXPECT_EQ(code, EOPNOTSUPP);
}

TEST(plan_domain, PvhWithoutKernelIsRefused)
{
    Scratch s;
    auto parsed = parse("name = \"p\"\ntype = \"pvh\"\nfirmware_override = \"/usr/lib/xen/boot/pvgrub\"\n");
    PlanContext ctx = context(s);
    ctx.source = &parsed;
    int code = 0;
    std::string msg = plan_error(build(parsed), ctx, &code);
    EXPECT_EQ(code, EOPNOTSUPP);
    EXPECT_THAT(msg, StartsWith("test.cfg:3:21: type=\"pvh\" needs kernel="));
    EXPECT_THAT(msg, HasSubstr("PVH firmware (firmware_override=) is not supported yet"));
}

TEST(plan_domain, MissingKernelFailsNamingTheFile)
{
    Scratch s;
    auto parsed = parse("name = \"p\"\ntype = \"pvh\"\nkernel = \"/nonexistent/vmlinuz\"\n");
    PlanContext ctx = context(s);
    ctx.source = &parsed;
    int code = 0;
    EXPECT_EQ(plan_error(build(parsed), ctx, &code), "test.cfg:3:10: kernel /nonexistent/vmlinuz: file not found");
    EXPECT_EQ(code, ENOENT);
}

TEST(plan_domain, MalformedKernelsFailNamingTheFile)
{
    Scratch s;
    const std::string junk = s.write("junk", std::vector<uint8_t>(256, 0x42));
    EXPECT_THAT(plan_error(config_from(pvh_config(s, "kernel = \"" + junk + "\"\n")), context(s)),
                StartsWith("kernel " + junk + ": "));

    const std::string empty = s.write("empty", {});
    EXPECT_EQ(plan_error(config_from(pvh_config(s, "kernel = \"" + empty + "\"\n")), context(s)),
              "kernel " + empty + ": file is empty");

    // An ELF without the PVH entry note is a fine firmware image but not a PVH kernel.
    EXPECT_EQ(plan_error(config_from(pvh_config(s, "kernel = \"" + s.firmware() + "\"\n")), context(s)),
              "kernel " + s.firmware() + ": not a PVH kernel: no XEN_ELFNOTE_PHYS32_ENTRY note");
}

TEST(plan_domain, MissingRamdiskAndFirmwareFailNamingTheFile)
{
    Scratch s;
    auto parsed = parse(pvh_config(s, "ramdisk = \"/nonexistent/initrd\"\n"));
    PlanContext ctx = context(s);
    ctx.source = &parsed;
    EXPECT_EQ(plan_error(build(parsed), ctx), "test.cfg:5:11: ramdisk /nonexistent/initrd: file not found");

    auto hvm = config_from("name = \"h\"\ntype = \"hvm\"\nfirmware_override = \"/nonexistent/fw\"\n");
    EXPECT_EQ(plan_error(hvm, context(s)), "firmware /nonexistent/fw: file not found");
}

TEST(plan_domain, OverlongCommandLineIsRefused)
{
    Scratch s;
    auto cfg = config_from(pvh_config(s, "cmdline = \"" + std::string(5000, 'a') + "\"\n"));
    EXPECT_THAT(plan_error(cfg, context(s)), HasSubstr("command line"));
}

TEST(plan_domain, PciDeviceMissingOnTheHost)
{
    Scratch s;
    auto parsed = corpus("pvh_overrides.cfg", { "kernel=\"" + s.kernel() + "\"" });
    int code = 0;
    std::string msg = plan_error(build(parsed), context(s), &code);
    EXPECT_EQ(code, ENODEV);
    EXPECT_THAT(msg, HasSubstr("0000:05:00.0"));
}

TEST(plan_domain, PciDeviceNotBoundForPassthrough)
{
    Scratch s;
    rdm::test::TempTree sys;
    sys.add_device(rdm::test::bdf(1, 0, 0), "vfio-pci");
    sys.add_device(rdm::test::bdf(1, 0, 1), "snd_hda_intel");
    auto parsed = corpus("hvm_passthrough_rdm.cfg", { "firmware_override=\"" + s.firmware() + "\"" });
    PlanContext ctx = context(s);
    ctx.host.sysfs_root = sys.root();
    int code = 0;
    std::string msg = plan_error(build(parsed), ctx, &code);
    EXPECT_EQ(code, EBUSY);
    EXPECT_THAT(msg, HasSubstr("0000:01:00.1"));
    EXPECT_THAT(msg, HasSubstr("snd_hda_intel"));

    // The error points at the pci= item of the device at fault, not at the list.
    auto two = parse("name = \"p\"\ntype = \"hvm\"\nfirmware_override = \"" + s.firmware()
                     + "\"\npci = [ '01:00.0',\n        '01:00.1' ]\n");
    ctx.source = &two;
    EXPECT_THAT(plan_error(build(two), ctx), StartsWith("test.cfg:5:9: "));
}

TEST(plan_domain, PciPassthroughIsNotSupportedYetOnceDevicesCheckOut)
{
    Scratch s;
    rdm::test::TempTree sys;
    sys.add_device(rdm::test::bdf(1, 0, 0), "vfio-pci");
    sys.add_device(rdm::test::bdf(1, 0, 1), "vfio-pci");
    sys.add_device(rdm::test::bdf(0x3b, 0, 0), "pciback");
    auto parsed = corpus("hvm_passthrough_rdm.cfg", { "firmware_override=\"" + s.firmware() + "\"" });
    PlanContext ctx = context(s);
    ctx.host.sysfs_root = sys.root();
    ctx.source = &parsed;
    int code = 0;
    std::string msg = plan_error(build(parsed), ctx, &code);
    EXPECT_EQ(code, EOPNOTSUPP);
    EXPECT_THAT(msg, StartsWith(kGood + "hvm_passthrough_rdm.cfg:14:7: pci=: PCI passthrough is not supported"));
    EXPECT_THAT(msg, HasSubstr("0000:01:00.0, 0000:01:00.1, 0000:3b:00.0 are present and bound for passthrough"));
}

TEST(plan_domain, PciByNameIsRefused)
{
    Scratch s;
    auto parsed = corpus("hvm_named_pci.cfg", { "firmware_override=\"" + s.firmware() + "\"" });
    int code = 0;
    EXPECT_THAT(plan_error(build(parsed), context(s), &code), HasSubstr("name=gpu0"));
    EXPECT_EQ(code, EOPNOTSUPP);
}

TEST(plan_domain, KernelIsCheckedBeforePci)
{
    Scratch s;
    auto cfg = config_from("name = \"p\"\ntype = \"pvh\"\nkernel = \"/nonexistent/k\"\npci = [ '05:00.0' ]\n");
    EXPECT_THAT(plan_error(cfg, context(s)), HasSubstr("kernel /nonexistent/k: file not found"));
}

TEST(plan_domain, BrokenModelAndBadDomidAreRefused)
{
    Scratch s;
    auto cfg = config_from(pvh_config(s));
    cfg.vcpus = 0; // not something a file can produce; a hand-built or JSON model can
    int code = 0;
    EXPECT_EQ(plan_error(cfg, context(s), &code), "vcpus: vcpus must be between 1 and 128");
    EXPECT_EQ(code, EINVAL);

    cfg = config_from(pvh_config(s));
    EXPECT_THAT(plan_error(cfg, context(s, 0)), HasSubstr("domid 0 is not a guest domain id"));
    EXPECT_THAT(plan_error(cfg, context(s, 0x7ff0)), HasSubstr("domid 32752 is not a guest domain id"));
}

TEST(plan_domain, HostNumaErrorsPointAtTheKey)
{
    Scratch s;
    auto parsed = parse(pvh_config(s, "nodes = [ 3 ]\n"));
    PlanContext ctx = context(s);
    ctx.source = &parsed;
    int code = 0;
    std::string msg = plan_error(build(parsed), ctx, &code);
    EXPECT_EQ(code, ENOENT);
    EXPECT_THAT(msg, StartsWith("test.cfg:5:9: "));
    EXPECT_THAT(msg, HasSubstr("NUMA node 3 does not exist on this host"));

    auto cpus = parse(pvh_config(s, "cpus = \"2,5\"\n"));
    ctx.source = &cpus;
    msg = plan_error(build(cpus), ctx);
    EXPECT_THAT(msg, StartsWith("test.cfg:5:8: cpus: CPU 5 is not online on this host"));
}
