#include "config/domain_config.h"
#include "config/json.h"

#include <gtest/gtest.h>

using namespace xkvm::config;

namespace {

DomainConfig build_ok(std::string_view text, const std::vector<std::string>& overrides = {})
{
    auto parsed = parse_string(text, "d.cfg", overrides);
    EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().str());
    if (!parsed)
        return {};
    auto cfg = build_domain_config(*parsed);
    EXPECT_TRUE(cfg.has_value()) << (cfg ? "" : cfg.error().str());
    return cfg ? cfg.release_value() : DomainConfig {};
}

std::string build_err(std::string_view text, const std::vector<std::string>& overrides = {})
{
    auto parsed = parse_string(text, "d.cfg", overrides);
    if (!parsed)
        return "parse: " + parsed.error().str();
    auto cfg = build_domain_config(*parsed);
    EXPECT_FALSE(cfg.has_value()) << "built unexpectedly";
    return cfg ? "" : cfg.error().str();
}

constexpr std::string_view kHead = "name = \"g\"\ntype = \"hvm\"\n";

std::string with_head(std::string_view rest) { return std::string(kHead) + std::string(rest); }

} // namespace

TEST(DomainConfig, DefaultsAreXlsAndLibxls)
{
    auto cfg = build_ok(kHead);
    EXPECT_EQ(cfg.name, "g");
    EXPECT_EQ(cfg.type, DomainType::Hvm);
    EXPECT_FALSE(cfg.uuid.has_value());
    EXPECT_EQ(cfg.memory_mib, 32u);
    EXPECT_EQ(cfg.maxmem_mib, 32u);
    EXPECT_EQ(cfg.vcpus, 1u);
    EXPECT_EQ(cfg.maxvcpus, 1u);
    EXPECT_EQ(cfg.on_poweroff, ShutdownAction::Destroy);
    EXPECT_EQ(cfg.on_reboot, ShutdownAction::Restart);
    EXPECT_EQ(cfg.on_crash, ShutdownAction::Destroy);
    EXPECT_EQ(cfg.on_watchdog, ShutdownAction::Destroy);
    EXPECT_EQ(cfg.on_soft_reset, ShutdownAction::SoftReset);
    EXPECT_EQ(cfg.rdm.strategy, RdmStrategy::None);
    EXPECT_EQ(cfg.rdm.policy, RdmPolicy::Relaxed);
    EXPECT_EQ(cfg.rdm_mem_boundary_mib, 2048u);
    EXPECT_EQ(cfg.cpus.form, AffinitySpec::Form::Unset);
    EXPECT_TRUE(cfg.nodes.empty());
    EXPECT_TRUE(cfg.kernel.empty());
    EXPECT_TRUE(cfg.cmdline.empty());
}

TEST(DomainConfig, MemoryAndMaxmem)
{
    auto m = build_ok(with_head("memory = 1024\n"));
    EXPECT_EQ(m.memory_mib, 1024u);
    EXPECT_EQ(m.maxmem_mib, 1024u);
    auto mm = build_ok(with_head("memory = 1024\nmaxmem = 4096\n"));
    EXPECT_EQ(mm.memory_mib, 1024u);
    EXPECT_EQ(mm.maxmem_mib, 4096u);
    auto only_max = build_ok(with_head("maxmem = 2048\n"));
    EXPECT_EQ(only_max.memory_mib, 2048u);
    EXPECT_EQ(only_max.maxmem_mib, 2048u);
    EXPECT_EQ(build_err(with_head("memory = 2048\nmaxmem = 1024\n")),
              "d.cfg:4:10: error: maxmem (1024 MiB) must not be less than memory (2048 MiB)");
    EXPECT_EQ(build_err(with_head("memory = 0\n")), "d.cfg:3:10: error: 'memory' must be between 1 and 16777216, found 0");
}

TEST(DomainConfig, VcpusAndMaxvcpus)
{
    auto v = build_ok(with_head("vcpus = 4\n"));
    EXPECT_EQ(v.vcpus, 4u);
    EXPECT_EQ(v.maxvcpus, 4u);
    auto only_max = build_ok(with_head("maxvcpus = 8\n"));
    EXPECT_EQ(only_max.vcpus, 1u);
    EXPECT_EQ(only_max.maxvcpus, 8u);
    EXPECT_EQ(build_err(with_head("vcpus = 4\nmaxvcpus = 2\n")),
              "d.cfg:4:12: error: maxvcpus (2) must not be less than vcpus (4)");
    EXPECT_EQ(build_err(with_head("vcpus = 129\n")), "d.cfg:3:9: error: 'vcpus' must be between 1 and 128, found 129");
}

// xl.cfg(5): cpu_weight 1..65535 (default 256), cap in percent of one CPU (0: none), at most 100
// per vCPU as libxl's sched_credit_domain_set checks. Issue 11 (label hardening).
TEST(DomainConfig, CpuWeightAndCap)
{
    auto d = build_ok(kHead);
    EXPECT_EQ(d.cpu_weight, 256u);
    EXPECT_EQ(d.cpu_cap, 0u);
    auto set = build_ok(with_head("vcpus = 2\ncpu_weight = 512\ncap = 150\n"));
    EXPECT_EQ(set.cpu_weight, 512u);
    EXPECT_EQ(set.cpu_cap, 150u);
    EXPECT_EQ(build_err(with_head("cpu_weight = 0\n")), "d.cfg:3:14: error: 'cpu_weight' must be between 1 and 65535, found 0");
    EXPECT_EQ(build_err(with_head("cpu_weight = 65536\n")),
              "d.cfg:3:14: error: 'cpu_weight' must be between 1 and 65535, found 65536");
    EXPECT_EQ(build_err(with_head("vcpus = 2\ncap = 201\n")),
              "d.cfg:4:7: error: cap must be between 0 and 200 (100 per vCPU, maxvcpus = 2)");
    auto round = from_json(to_json(set));
    ASSERT_TRUE(round.has_value()) << round.error().str();
    EXPECT_EQ(*round, set);
    EXPECT_FALSE(to_json(d)["b_info"].contains("sched_params")) << "defaults are left out, as libxl does";
}

TEST(DomainConfig, TypeAndBuilder)
{
    EXPECT_EQ(build_ok("name='g'\nbuilder='hvm'\n").type, DomainType::Hvm);
    EXPECT_EQ(build_ok("name='g'\ntype='hvm'\nbuilder='hvm'\n").type, DomainType::Hvm);
    // PV parses, as in xl (the planner refuses it): type="pv", builder="generic", or neither.
    EXPECT_EQ(build_ok("name='g'\ntype='pv'\n").type, DomainType::Pv);
    EXPECT_EQ(build_ok("name='g'\nbuilder='generic'\n").type, DomainType::Pv);
    EXPECT_EQ(build_ok("name='g'\n").type, DomainType::Pv);
    EXPECT_EQ(build_err("name='g'\ntype='HVM'\n"),
              "d.cfg:2:6: error: unknown type \"HVM\" (expected \"hvm\", \"pvh\" or \"pv\")");
    // xl refuses a builder= that contradicts type=.
    EXPECT_EQ(build_err("name='g'\nbuilder='hvm'\ntype='pvh'\nkernel='/k'\n"),
              "d.cfg:3:6: error: type \"pvh\" contradicts builder \"hvm\" (line 2); remove builder=, which type= "
              "replaces");
    EXPECT_EQ(build_err("name='g'\ntype='pvh'\nkernel='/k'\nbuilder='generic'\n"),
              "d.cfg:2:6: error: type \"pvh\" contradicts builder \"generic\" (line 4); remove builder=, which type= "
              "replaces");
    EXPECT_EQ(build_err("name='g'\nbuilder='xen'\n"),
              "d.cfg:2:9: error: unknown builder \"xen\" (expected \"hvm\" or \"generic\"; better, type = \"hvm\", "
              "\"pvh\" or \"pv\")");
    EXPECT_EQ(build_err("name='g'\ntype='pvh'\n"),
              "d.cfg:2:6: error: a PVH guest needs kernel= (direct boot) or firmware_override=");
}

TEST(DomainConfig, NameIsRequiredAndValidated)
{
    EXPECT_EQ(build_err("type='hvm'\n"), "d.cfg:1:1: error: missing required key 'name'");
    EXPECT_EQ(build_err("type='hvm'\nname='my vm'\n"),
              "d.cfg:2:6: error: invalid name \"my vm\": the name may only contain printable ASCII without blanks, "
              "quotes, '/' or '\\'");
    EXPECT_EQ(build_err("type='hvm'\nname=17\n"),
              "d.cfg:2:6: error: invalid name \"17\": a name made only of digits would be mistaken for a domain id");
    EXPECT_EQ(build_err("type='hvm'\nname=''\n"), "d.cfg:2:6: error: invalid name \"\": the name must not be empty");
    EXPECT_EQ(name_problem("Domain-0"), "'Domain-0' is the name of the control domain");
    EXPECT_EQ(name_problem(std::string(65, 'a')), "the name is longer than 64 characters");
    EXPECT_EQ(name_problem("web-01.example_1"), std::nullopt);
}

TEST(DomainConfig, Uuid)
{
    auto cfg = build_ok(with_head("uuid = \"6A2B0C3D-1111-2222-3333-444455556666\"\n"));
    ASSERT_TRUE(cfg.uuid.has_value());
    EXPECT_EQ(cfg.uuid->str(), "6a2b0c3d-1111-2222-3333-444455556666");
    EXPECT_EQ(cfg.uuid->bytes[0], 0x6a);
    EXPECT_EQ(cfg.uuid->bytes[15], 0x66);
    EXPECT_EQ(build_err(with_head("uuid = \"6a2b0c3d111122223333444455556666\"\n")),
              "d.cfg:3:8: error: invalid uuid \"6a2b0c3d111122223333444455556666\" (expected "
              "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
    EXPECT_EQ(build_err(with_head("uuid = \"00000000-0000-0000-0000-000000000000\"\n")),
              "d.cfg:3:8: error: the nil UUID cannot identify a domain");
    EXPECT_FALSE(Uuid::parse("6a2b0c3d-1111-2222-3333-44445555666g").has_value());
}

TEST(DomainConfig, CmdlineComposition)
{
    EXPECT_EQ(build_ok(with_head("root='/dev/xvda1 ro'\nextra='console=hvc0'\n")).cmdline, "root=/dev/xvda1 ro console=hvc0");
    EXPECT_EQ(build_ok(with_head("extra='quiet'\n")).cmdline, "quiet");
    EXPECT_EQ(build_ok(with_head("root='/dev/sda'\n")).cmdline, "root=/dev/sda");
    EXPECT_EQ(build_ok(with_head("cmdline='a b'\nroot='/dev/sda'\nextra='x'\n")).cmdline, "a b");
}

TEST(DomainConfig, ShutdownActions)
{
    auto cfg = build_ok(with_head("on_poweroff='preserve'\non_reboot='rename-restart'\non_crash='coredump-restart'\n"
                                  "on_watchdog='coredump-destroy'\non_soft_reset='restart'\n"));
    EXPECT_EQ(cfg.on_poweroff, ShutdownAction::Preserve);
    EXPECT_EQ(cfg.on_reboot, ShutdownAction::RenameRestart);
    EXPECT_EQ(cfg.on_crash, ShutdownAction::CoredumpRestart);
    EXPECT_EQ(cfg.on_watchdog, ShutdownAction::CoredumpDestroy);
    EXPECT_EQ(cfg.on_soft_reset, ShutdownAction::Restart);
    EXPECT_EQ(build_err(with_head("on_crash = 'reboot'\n")),
              "d.cfg:3:12: error: unknown action \"reboot\" for 'on_crash' (expected destroy, restart, rename-restart, "
              "preserve, coredump-destroy, coredump-restart or soft-reset)");
    for (auto a : { ShutdownAction::Destroy, ShutdownAction::Restart, ShutdownAction::RenameRestart,
                    ShutdownAction::Preserve, ShutdownAction::CoredumpDestroy, ShutdownAction::CoredumpRestart,
                    ShutdownAction::SoftReset })
        EXPECT_EQ(shutdown_action_from_xl(xl_name(a)), a);
}

TEST(DomainConfig, SerialAcceptsAStringOrAList)
{
    EXPECT_EQ(build_ok(with_head("serial = 'pty'\n")).serial, std::vector<std::string> { "pty" });
    EXPECT_EQ(build_ok(with_head("serial = [ 'pty', 'file:/tmp/s1' ]\n")).serial,
              (std::vector<std::string> { "pty", "file:/tmp/s1" }));
    EXPECT_EQ(build_err(with_head("serial = [ 'pty', '' ]\n")),
              "d.cfg:3:19: error: 'serial' devices must not be empty (e.g. \"pty\")");
}

TEST(DomainConfig, PciDefaultsGlobalsAndPerDeviceSettings)
{
    auto ok = build_ok(with_head("pci_permissive = 1\npci_msitranslate = 1\n"
                                 "pci = [ '03:00.0', '04:00.1@5,permissive=0,rdm_policy=relaxed,seize=1,power_mgmt=1' ]\n"));
    ASSERT_EQ(ok.pci.size(), 2u);
    EXPECT_EQ(ok.pci[0].bdf, (PciBdf { 0, 3, 0, 0 }));
    EXPECT_TRUE(ok.pci[0].permissive);
    EXPECT_TRUE(ok.pci[0].msitranslate);
    EXPECT_FALSE(ok.pci[0].seize);
    EXPECT_FALSE(ok.pci[0].power_mgmt);
    EXPECT_EQ(ok.pci[0].rdm_policy, RdmPolicy::Strict); // per-device default
    EXPECT_FALSE(ok.pci[0].vslot.has_value());
    EXPECT_EQ(ok.pci[1].bdf, (PciBdf { 0, 4, 0, 1 }));
    EXPECT_EQ(ok.pci[1].vslot, 5);
    EXPECT_FALSE(ok.pci[1].permissive);
    EXPECT_TRUE(ok.pci[1].seize);
    EXPECT_TRUE(ok.pci[1].power_mgmt);
    EXPECT_EQ(ok.pci[1].rdm_policy, RdmPolicy::Relaxed);
}

TEST(DomainConfig, PciErrorsPointInsideTheString)
{
    EXPECT_EQ(build_err(with_head("pci = [ '03:00.0', '03:00.0,foo=1' ]\n")),
              "d.cfg:3:29: error: pci: unknown option 'foo' (expected bdf, vslot, permissive, msitranslate, seize, "
              "power_mgmt, rdm_policy or name)");
    EXPECT_EQ(build_err(with_head("pci = [ '03:00.0', '0000:03:00.0' ]\n")),
              "d.cfg:3:20: error: device 0000:03:00.0 is listed twice");
    EXPECT_EQ(build_err(with_head("pci = [ \"03:00.0,rdm_policy=\\x66orce\" ]\n")),
              "d.cfg:3:9: error: pci: rdm_policy: unknown policy 'force' (expected strict or relaxed)");
    EXPECT_EQ(build_err(with_head("pci = [ ['03:00.0'] ]\n")),
              "d.cfg:3:9: error: 'pci' expects a list of strings, found a nested list");
}

TEST(DomainConfig, Rdm)
{
    auto cfg = build_ok(with_head("rdm = 'strategy=host,policy=strict'\nrdm_mem_boundary = 1024\n"));
    EXPECT_EQ(cfg.rdm.strategy, RdmStrategy::Host);
    EXPECT_EQ(cfg.rdm.policy, RdmPolicy::Strict);
    EXPECT_EQ(cfg.rdm_mem_boundary_mib, 1024u);
    EXPECT_EQ(build_err(with_head("rdm = 'strategy=host,policy=sloppy'\n")),
              "d.cfg:3:29: error: rdm: unknown policy 'sloppy' (expected strict or relaxed)");
    EXPECT_EQ(build_err(with_head("rdm = [ 'host, reserve=force' ]\n")), "d.cfg:3:7: error: 'rdm' expects a string, found a list");
}

TEST(DomainConfig, CpusStringAppliesToAllListIsPerVcpu)
{
    auto all = build_ok(with_head("vcpus = 4\ncpus = '0-3,^1'\ncpus_soft = 'node:0'\n"));
    EXPECT_EQ(all.cpus.form, AffinitySpec::Form::AllVcpus);
    ASSERT_EQ(all.cpus.sets.size(), 1u);
    EXPECT_EQ(all.cpus.sets[0].terms.size(), 2u);
    EXPECT_EQ(all.cpus_soft.form, AffinitySpec::Form::AllVcpus);
    EXPECT_EQ(all.cpus_soft.sets[0].terms[0].kind, CpuSetTerm::Kind::Nodes);

    auto per = build_ok(with_head("vcpus = 2\nmaxvcpus = 4\ncpus = [ '2', '3-8,^5', 7 ]\n"));
    EXPECT_EQ(per.cpus.form, AffinitySpec::Form::PerVcpu);
    ASSERT_EQ(per.cpus.sets.size(), 3u);
    EXPECT_EQ(per.cpus.sets[2].terms[0].first, 7u);

    // As xl: entries past maxvcpus are skipped (the model keeps one per possible vCPU), with a warning
    // pointing at the first one skipped.
    auto parsed = parse_string(with_head("vcpus = 2\ncpus = [ '0', '1', '2', '3' ]\ncpus_soft = [ '1', '0', '0' ]\n"),
                               "d.cfg");
    ASSERT_TRUE(parsed.has_value());
    std::vector<ConfigWarning> warnings;
    auto longer = build_domain_config(*parsed, warnings);
    ASSERT_TRUE(longer.has_value()) << longer.error().str();
    ASSERT_EQ(longer->cpus.sets.size(), 2u);
    EXPECT_EQ(longer->cpus.sets[1].terms[0].first, 1u);
    EXPECT_EQ(longer->cpus_soft.sets.size(), 2u);
    ASSERT_EQ(warnings.size(), 2u);
    EXPECT_EQ(warnings[0].str(),
              "d.cfg:4:20: warning: 'cpus' lists 4 vCPUs but the guest has maxvcpus = 2; the last 2 entries are ignored");
    EXPECT_EQ(warnings[1].str(),
              "d.cfg:5:25: warning: 'cpus_soft' lists 3 vCPUs but the guest has maxvcpus = 2; the last entry is ignored");
    // A model that still has too many (built by hand, or from JSON) breaks an invariant.
    DomainConfig hand = *longer;
    hand.cpus.sets.push_back(hand.cpus.sets[0]);
    ASSERT_TRUE(check_domain_config(hand).has_value());
    EXPECT_EQ(check_domain_config(hand)->message, "lists 3 vCPUs but the guest has maxvcpus = 2");
    EXPECT_EQ(build_err(with_head("cpus = '0-3,^x'\n")), "d.cfg:3:14: error: cpus: expected a CPU number, found 'x'");
    EXPECT_EQ(build_err(with_head("cpus = []\n")),
              "d.cfg:3:8: error: 'cpus' is an empty list (give a CPU list per vCPU, or one string for all)");
}

TEST(DomainConfig, NodesAreSortedAndUnique)
{
    EXPECT_EQ(build_ok(with_head("nodes = [ '3', 0, \"3\" ]\n")).nodes, (std::vector<uint32_t> { 0, 3 }));
    EXPECT_EQ(build_ok(with_head("nodes = 1\n")).nodes, (std::vector<uint32_t> { 1 }));
    EXPECT_TRUE(build_ok(with_head("nodes = []\n")).nodes.empty());
    EXPECT_EQ(build_err(with_head("nodes = [ 0, 'one' ]\n")), "d.cfg:3:14: error: 'nodes' expects a number, found \"one\"");
    EXPECT_EQ(build_err(with_head("nodes = [ 1024 ]\n")), "d.cfg:3:11: error: 'nodes' must be between 0 and 1023, found 1024");
}

TEST(DomainConfig, CpuidBothForms)
{
    auto libxl = build_ok(with_head("cpuid = \"host,tm=0,sse3=0\"\n"));
    auto xend = build_ok(with_head("cpuid = [ '1:ecx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0,edx=xx0xxxxxxxxxxxxxxxxxxxxxxxxxxxxx' ]\n"));
    EXPECT_EQ(libxl.cpuid, xend.cpuid);
    EXPECT_EQ(libxl.cpuid.size(), 2u);
    EXPECT_EQ(build_err(with_head("cpuid = \"host,tm=0,sse9=0\"\n")),
              "d.cfg:3:20: error: cpuid: unknown CPUID feature or field 'sse9' (names as in xl.cfg(5) / "
              "cpufeatureset.h, lowercase with '-')");
    EXPECT_EQ(build_err(with_head("cpuid = [ '0x40000002:edx=0x7', 7 ]\n")),
              "d.cfg:3:33: error: 'cpuid' list entries are strings like \"0x1:ecx=0x...\", found a number");
}

TEST(DomainConfig, VnumaIsReadAndHeldToXlsRules)
{
    auto cfg = build_ok(with_head("memory = 1024\nvcpus = 3\nvnuma = [ [ 'pnode=0', 'size=512', 'vcpus=0-1', "
                                  "'vdistances=10,21' ], [ 'pnode=1', 'size=512', 'vcpus=2' ] ]\n"));
    ASSERT_EQ(cfg.vnuma.size(), 2u);
    EXPECT_EQ(cfg.vnuma[0], (VnumaNode { 0, 512, { 0, 1 }, { 10, 21 } }));
    EXPECT_EQ(cfg.vnuma[1], (VnumaNode { 1, 512, { 2 }, { 20, 10 } })); // default distances
    const std::string head = with_head("memory = 1024\nvcpus = 2\n");
    EXPECT_EQ(build_err(head + "vnuma = [ [ 'pnode=0', 'size=512', 'vcpus=0-1' ] ]\n"),
              "d.cfg:5:9: error: the virtual nodes hold 512 MiB but maxmem is 1024 MiB; the sizes must add up to it");
    EXPECT_EQ(build_err(head + "vnuma = [ [ 'pnode=0', 'size=1024', 'vcpus=0' ] ]\n"),
              "d.cfg:5:9: error: vCPU 1 is in no virtual node (every vCPU up to maxvcpus must be)");
    EXPECT_EQ(build_err(head + "vnuma = [ [ 'pnode=0', 'size=512', 'vcpus=0-1' ], [ 'pnode=0', 'size=512', 'vcpus=1' ] ]\n"),
              "d.cfg:5:51: error: vCPU 1 is in virtual nodes 0 and 1");
    EXPECT_EQ(build_err(head + "vnuma = [ [ 'pnode=0', 'size=1024', 'vcpus=0-1', 'speed=9' ] ]\n"),
              "d.cfg:5:51: error: vnuma: unknown key 'speed' (expected pnode, size, vcpus or vdistances)");
    EXPECT_EQ(build_err(head + "vnuma = [ [ 'pnode=0', 'size=1024', 'vcpus=0-x' ] ]\n"),
              "d.cfg:5:46: error: vnuma: expected a CPU number, found 'x'");
    EXPECT_EQ(build_err(head + "vnuma = [ [ 'pnode=0', 'vcpus=0-1' ] ]\n"),
              "d.cfg:5:11: error: vnuma: virtual node 0 needs pnode=, size= and vcpus=");
}

TEST(DomainConfig, OverridesWinAndErrorsNameTheCommandLine)
{
    auto cfg = build_ok(with_head("memory = 512\n"), { "memory=1024", "name=\"other\"" });
    EXPECT_EQ(cfg.memory_mib, 1024u);
    EXPECT_EQ(cfg.name, "other");
    EXPECT_EQ(build_err(with_head("memory = 512\n"), { "vcpus=2", "maxmem=256" }),
              "<command line>:2:8: error: maxmem (256 MiB) must not be less than memory (512 MiB)");
}

TEST(DomainConfig, ApplyDefaultsIsTheOnlySourceOfDefaults)
{
    DomainConfigInput in;
    in.name = "x";
    in.type = DomainType::Hvm;
    in.pci.push_back(PciSpecInput { PciBdf { 0, 1, 2, 3 }, {}, {}, {}, {}, {}, {}, {} });
    in.pci_seize = true;
    DomainConfig cfg = apply_defaults(in);
    EXPECT_EQ(cfg.memory_mib, kDefaultMemoryMiB);
    EXPECT_EQ(cfg.rdm_mem_boundary_mib, kDefaultRdmMemBoundaryMiB);
    ASSERT_EQ(cfg.pci.size(), 1u);
    EXPECT_TRUE(cfg.pci[0].seize);
    EXPECT_FALSE(cfg.pci[0].msitranslate);
    EXPECT_EQ(cfg.pci[0].rdm_policy, RdmPolicy::Strict);
    EXPECT_EQ(check_domain_config(cfg), std::nullopt);
}

TEST(DomainConfig, CheckCatchesBrokenInvariantsInHandBuiltModels)
{
    DomainConfig cfg;
    cfg.name = "x";
    EXPECT_FALSE(check_domain_config(cfg).has_value());
    cfg.cpuid = { CpuidRegPolicy { 1, std::nullopt, CpuidReg::Ecx, 1, 1, 0 } };
    auto bad = check_domain_config(cfg);
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ(bad->key, "cpuid");
    cfg.cpuid.clear();
    cfg.cpus.form = AffinitySpec::Form::AllVcpus;
    bad = check_domain_config(cfg);
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ(bad->key, "cpus");
    cfg.cpus = {};
    cfg.nodes = { 2, 1 };
    bad = check_domain_config(cfg);
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ(bad->message, "nodes must be sorted and unique");
}
