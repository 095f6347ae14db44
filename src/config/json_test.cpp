#include "config/json.h"

#include <gtest/gtest.h>

using namespace xkvm::config;
using nlohmann::json;

namespace {

DomainConfig build(std::string_view text)
{
    auto parsed = parse_string(text, "j.cfg");
    EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().str());
    if (!parsed)
        return {};
    auto cfg = build_domain_config(*parsed);
    EXPECT_TRUE(cfg.has_value()) << (cfg ? "" : cfg.error().str());
    return cfg ? cfg.release_value() : DomainConfig {};
}

std::string json_err(const json& j)
{
    auto r = from_json(j);
    EXPECT_FALSE(r.has_value()) << j.dump();
    return r ? "" : r.error().str();
}

constexpr std::string_view kFull = R"(
name = "full"
uuid = "0f4a1e9c-8d2b-4c1e-9a55-1234567890ab"
type = "hvm"
memory = 2048
maxmem = 4096
vcpus = 2
maxvcpus = 4
kernel = "/boot/vmlinuz"
ramdisk = "/boot/initrd"
root = "/dev/xvda1"
extra = "console=ttyS0"
firmware_override = "/usr/lib/xkvm/hvmloader"
on_poweroff = "preserve"
on_reboot = "rename-restart"
on_crash = "coredump-destroy"
serial = [ "pty", "file:/var/log/full.serial" ]
cpuid = [ "0x40000002:edx=0x7", "7,0:ebx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxk0" ]
pci = [ "0000:03:00.0@4,permissive=1", "name=nic1,rdm_policy=relaxed" ]
rdm = "strategy=host,policy=strict"
rdm_mem_boundary = 1024
cpus = [ "0-3,^1", "nodes:0-1" ]
cpus_soft = "all,^node:1"
nodes = [ 1, 0 ]
)";

} // namespace

TEST(Json, FollowsLibxlDomainConfigShape)
{
    json j = to_json(build(kFull));
    EXPECT_EQ(j["c_info"]["type"], "hvm");
    EXPECT_EQ(j["c_info"]["name"], "full");
    EXPECT_EQ(j["c_info"]["uuid"], "0f4a1e9c-8d2b-4c1e-9a55-1234567890ab");
    const json& b = j["b_info"];
    EXPECT_EQ(b["max_vcpus"], 4);
    EXPECT_EQ(b["avail_vcpus"], json::array({ 0, 1 }));
    EXPECT_EQ(b["max_memkb"], 4096 * 1024);
    EXPECT_EQ(b["target_memkb"], 2048 * 1024);
    EXPECT_EQ(b["nodemap"], json::array({ 0, 1 }));
    EXPECT_EQ(b["kernel"], "/boot/vmlinuz");
    EXPECT_EQ(b["ramdisk"], "/boot/initrd");
    EXPECT_EQ(b["cmdline"], "root=/dev/xvda1 console=ttyS0");
    EXPECT_EQ(b["vcpu_hard_affinity_spec"], json::array({ "0-3,^1", "nodes:0-1" }));
    EXPECT_EQ(b["vcpu_soft_affinity_spec"], "all,^node:1");
    ASSERT_EQ(b["cpuid"].size(), 2u);
    EXPECT_EQ(b["cpuid"][0], (json { { "leaf", 7 }, { "subleaf", 0 }, { "ebx", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxk0" } }));
    EXPECT_EQ(b["cpuid"][1], (json { { "leaf", 0x40000002 }, { "edx", "00000000000000000000000000000111" } }));
    const json& hvm = b["type.hvm"];
    EXPECT_EQ(hvm["firmware"], "/usr/lib/xkvm/hvmloader");
    EXPECT_EQ(hvm["serial_list"], json::array({ "pty", "file:/var/log/full.serial" }));
    EXPECT_EQ(hvm["rdm"], (json { { "strategy", "host" }, { "policy", "strict" } }));
    EXPECT_EQ(hvm["rdm_mem_boundary_memkb"], 1024 * 1024);
    EXPECT_FALSE(b.contains("type.pvh"));
    ASSERT_EQ(j["pcidevs"].size(), 2u);
    EXPECT_EQ(j["pcidevs"][0], (json { { "domain", 0 }, { "bus", 3 }, { "dev", 0 }, { "func", 0 }, { "vdevfn", 0x20 },
                                       { "msitranslate", false }, { "power_mgmt", false }, { "permissive", true },
                                       { "seize", false }, { "rdm_policy", "strict" } }));
    EXPECT_EQ(j["pcidevs"][1]["name"], "nic1");
    EXPECT_FALSE(j["pcidevs"][1].contains("bus"));
    EXPECT_EQ(j["pcidevs"][1]["rdm_policy"], "relaxed");
    EXPECT_EQ(j["on_poweroff"], "preserve");
    EXPECT_EQ(j["on_reboot"], "restart_rename");
    EXPECT_EQ(j["on_crash"], "coredump_destroy");
    EXPECT_EQ(j["on_watchdog"], "destroy");
    EXPECT_EQ(j["on_soft_reset"], "soft_reset");
}

TEST(Json, OmitsWhatIsUnset)
{
    json j = to_json(build("name='m'\ntype='pvh'\nkernel='/k'\n"));
    EXPECT_FALSE(j["c_info"].contains("uuid"));
    EXPECT_FALSE(j.contains("pcidevs"));
    EXPECT_FALSE(j["b_info"].contains("cpuid"));
    EXPECT_FALSE(j["b_info"].contains("nodemap"));
    EXPECT_FALSE(j["b_info"].contains("vcpu_hard_affinity_spec"));
    EXPECT_FALSE(j["b_info"].contains("cmdline"));
    EXPECT_TRUE(j["b_info"].contains("type.pvh"));
    EXPECT_FALSE(j["b_info"]["type.pvh"].contains("serial_list"));
}

TEST(Json, DevicesUseLibxlFieldNames)
{
    json j = to_json(build("name='d'\ntype='hvm'\ndisk=['/srv/a.img,qcow2,xvda,ro', ',hdc:cdrom,r']\n"
                           "vif=['mac=00:16:3E:74:3d:76,bridge=xenbr0,rate=10Mb/s']\n"));
    ASSERT_EQ(j["disks"].size(), 2u);
    EXPECT_EQ(j["disks"][0], json::parse(R"({"pdev_path": "/srv/a.img", "vdev": "xvda", "format": "qcow2",
        "removable": 0, "readwrite": 0, "is_cdrom": 0, "direct_io_safe": false})"));
    EXPECT_EQ(j["disks"][1], json::parse(R"({"vdev": "hdc", "format": "empty", "removable": 1, "readwrite": 0,
        "is_cdrom": 1, "direct_io_safe": false})"));
    EXPECT_EQ(j["nics"], json::parse(R"([{"devid": 0, "mac": "00:16:3e:74:3d:76", "bridge": "xenbr0",
        "rate_bytes_per_interval": 62500, "rate_interval_usecs": 50000}])"));
}

TEST(Json, RoundTripIsExact)
{
    for (std::string_view text : { kFull, std::string_view("name='m'\ntype='pvh'\nkernel='/k'\n"),
                                   std::string_view("name='c'\nbuilder='hvm'\ncpuid='host,family=6,model=0x55,aes=k'\n"
                                                    "cpus='all'\nmaxvcpus=3\npci=['1:2.3']\nrdm='policy=strict'\n"),
                                   std::string_view(
                                       "name='pv'\nkernel='/k'\nmemory=256\nvcpus=2\n"
                                       "disk=['phy:/dev/vg/a,xvda,w', ',hdc:cdrom,r', 'vdev=xvdb,backendtype=qdisk,"
                                       "backend=sd,script=s,direct-io-safe,no-discard,format=qcow2,target=/b']\n"
                                       "vif=['', 'mac=00:16:3e:00:00:01,bridge=br1,type=vif,model=e1000,vifname=v,"
                                       "script=s,ip=10.0.0.2,backend=nd,rate=1MB/s@20ms,devid=7,mtu=1400,gatewaydev=g']\n"
                                       "vnuma=[['pnode=0','size=128','vcpus=0'],['pnode=1','size=128','vcpus=1',"
                                       "'vdistances=30,10']]\n") }) {
        DomainConfig cfg = build(text);
        auto back = from_json(to_json(cfg));
        ASSERT_TRUE(back.has_value()) << back.error().str();
        EXPECT_EQ(*back, cfg) << to_json(cfg).dump(2);
        auto text_back = from_json_text(to_json_text(cfg));
        ASSERT_TRUE(text_back.has_value()) << text_back.error().str();
        EXPECT_EQ(*text_back, cfg);
    }
}

TEST(Json, ReadsLibxlStyleDocumentsWithOmittedDefaults)
{
    json j = json::parse(R"({
        "c_info": { "type": "pvh", "name": "test-pvh", "uuid": "039e9ee6-4a84-3055-4c81-8ba426ae2656" },
        "b_info": { "max_vcpus": 4, "avail_vcpus": [0, 1, 2, 3], "max_memkb": 524288, "target_memkb": 524288,
                    "shadow_memkb": 1234, "sched_params": {}, "kernel": "/boot/vmlinuz",
                    "type.pvh": { "serial": "pty", "rdm": {} } },
        "pcidevs": [ { "dev": 16, "bus": 10, "rdm_policy": "invalid" } ],
        "on_reboot": "restart"
    })");
    auto r = from_json(j);
    ASSERT_TRUE(r.has_value()) << r.error().str();
    EXPECT_EQ(r->type, DomainType::Pvh);
    EXPECT_EQ(r->vcpus, 4u);
    EXPECT_EQ(r->memory_mib, 512u);
    EXPECT_EQ(r->serial, std::vector<std::string> { "pty" });
    EXPECT_EQ(r->rdm.policy, RdmPolicy::Relaxed);
    ASSERT_EQ(r->pci.size(), 1u);
    EXPECT_EQ(r->pci[0].bdf, (PciBdf { 0, 10, 16, 0 }));
    EXPECT_EQ(r->pci[0].rdm_policy, RdmPolicy::Strict);
    EXPECT_EQ(r->on_reboot, ShutdownAction::Restart);
    EXPECT_EQ(r->on_poweroff, ShutdownAction::Destroy);
}

TEST(Json, ErrorsNameThePathAndNeverThrow)
{
    json good = to_json(build(kFull));
    EXPECT_EQ(json_err(json::array()), "<json>: error: /: expected an object");
    json j = good;
    j.erase("c_info");
    EXPECT_EQ(json_err(j), "<json>: error: /: missing member \"c_info\"");
    j = good;
    j["b_info"]["max_memkb"] = "lots";
    EXPECT_EQ(json_err(j), "<json>: error: /b_info/max_memkb: expected an unsigned integer");
    j = good;
    j["b_info"]["max_memkb"] = 1000;
    EXPECT_EQ(json_err(j), "<json>: error: /b_info/max_memkb: 1000 KiB is not a whole number of MiB");
    j = good;
    j["b_info"]["max_memkb"] = 1024;
    EXPECT_EQ(json_err(j), "<json>: error: /: invalid domain config: maxmem: maxmem (1 MiB) must not be less than "
                           "memory (2048 MiB)");
    j = good;
    j["on_crash"] = "explode";
    EXPECT_EQ(json_err(j), "<json>: error: /on_crash: unknown action \"explode\"");
    j = good;
    j["b_info"]["avail_vcpus"] = json::array({ 0, 2 });
    EXPECT_EQ(json_err(j), "<json>: error: /b_info/avail_vcpus: xkvm brings up vCPUs 0..N-1; expected 1 at index 1");
    j = good;
    j["b_info"]["cpuid"][0]["ebx"] = "xx";
    EXPECT_EQ(json_err(j), "<json>: error: /b_info/cpuid/0/ebx: expected 32 characters of 0/1/x/k/s, found 2");
    j = good;
    j["b_info"]["vcpu_hard_affinity_spec"][1] = "3-1";
    EXPECT_EQ(json_err(j), "<json>: error: /b_info/vcpu_hard_affinity_spec/1: range 3-1 runs backwards");
    j = good;
    j["pcidevs"][0]["vdevfn"] = 0x21;
    EXPECT_EQ(json_err(j), "<json>: error: /pcidevs/0/vdevfn: 0x21 names a function; xkvm takes a slot (function 0)");
    j = good;
    j["c_info"]["type"] = "pvm";
    EXPECT_EQ(json_err(j), "<json>: error: /c_info/type: expected \"hvm\", \"pvh\" or \"pv\", found \"pvm\"");

    auto bad_text = from_json_text("{ \"c_info\": ");
    ASSERT_FALSE(bad_text.has_value());
    EXPECT_EQ(bad_text.error().file, "<json>");
    EXPECT_NE(bad_text.error().message.find("parse error"), std::string::npos) << bad_text.error().message;
}

TEST(Json, TextNeverThrowsEvenForAnUncheckedModel)
{
    DomainConfig cfg = build("name='m'\ntype='pvh'\nkernel='/k'\n");
    cfg.cmdline = "bad \xff byte"; // not something a parsed config can produce
    EXPECT_TRUE(check_domain_config(cfg).has_value());
    std::string text = to_json_text(cfg);
    EXPECT_NE(text.find("bad "), std::string::npos);
    auto back = from_json_text(text);
    ASSERT_TRUE(back.has_value()) << back.error().str(); // the replacement character is valid UTF-8
    EXPECT_NE(back->cmdline, cfg.cmdline);
}
