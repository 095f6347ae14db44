// disk= and vif= spec strings: every documented form, and broken specs with the byte offset of
// what is wrong (the corpus turns those offsets into file:line:column).
#include <gtest/gtest.h>

#include "config/disk_spec.h"
#include "config/vif_spec.h"

using namespace xkvm::config;

namespace {

DiskSpec disk_ok(std::string_view s)
{
    auto r = parse_disk_spec(s);
    EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error().message);
    return r ? r.release_value() : DiskSpec {};
}

VifSpec vif_ok(std::string_view s)
{
    auto r = parse_vif_spec(s);
    EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error().message);
    return r ? r.release_value() : VifSpec {};
}

DiskSpec disk(std::string target, DiskFormat f, std::string vdev, bool rw, bool cdrom = false)
{
    DiskSpec d;
    d.target = std::move(target);
    d.format = f;
    d.vdev = std::move(vdev);
    d.readwrite = rw;
    d.is_cdrom = cdrom;
    return d;
}

struct BadCase {
    std::string_view text;
    size_t offset;
    std::string_view message;
};

} // namespace

// xl-disk-configuration(5)'s two groups of equivalent strings.
TEST(DiskSpec, DocumentedEquivalentFormsAgree)
{
    const DiskSpec volume = disk("/dev/vg/guest-volume", DiskFormat::Raw, "hda", true);
    for (auto s : { "/dev/vg/guest-volume,,hda", "/dev/vg/guest-volume,raw,hda,rw",
                    "format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume", "raw:/dev/vg/guest-volume,hda,w" })
        EXPECT_EQ(disk_ok(s), volume) << s;
    const DiskSpec iso = disk("/root/image.iso", DiskFormat::Raw, "hdc", false, true);
    for (auto s : { "/root/image.iso,,hdc,cdrom", "/root/image.iso,,hdc,,cdrom", "/root/image.iso,raw,hdc,devtype=cdrom",
                    "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso",
                    "raw:/root/image.iso,hdc:cdrom,ro" })
        EXPECT_EQ(disk_ok(s), iso) << s;
}

TEST(DiskSpec, DeprecatedPrefixesAndEmptyCdrom)
{
    EXPECT_EQ(disk_ok("phy:/dev/vg0/guest,xvda,w"), disk("/dev/vg0/guest", DiskFormat::Raw, "xvda", true));
    EXPECT_EQ(disk_ok("file:/srv/g.img,hda,w"), disk("/srv/g.img", DiskFormat::Raw, "hda", true));
    EXPECT_EQ(disk_ok("tap:aio:qcow2:/srv/g.qcow2,xvdb,r"), disk("/srv/g.qcow2", DiskFormat::Qcow2, "xvdb", false));
    auto nbd = disk_ok("nbd:server:1234,xvdc");
    EXPECT_EQ(nbd.script, "block-nbd");
    EXPECT_EQ(nbd.target, "server:1234");
    EXPECT_EQ(disk_ok(",hdc:cdrom,r"), disk("", DiskFormat::Empty, "hdc", false, true));
    EXPECT_EQ(disk_ok("vdev=hdc,devtype=cdrom"), disk("", DiskFormat::Empty, "hdc", false, true));
}

TEST(DiskSpec, KeysAndFlags)
{
    auto d = disk_ok("vdev=xvda, format=qcow2, backendtype=qdisk, backend=storage-dom, script=block-iscsi, "
                     "direct-io-safe, no-discard, access=ro, target=/srv/a,b with comma ");
    EXPECT_EQ(d.target, "/srv/a,b with comma "); // target= takes the rest, blanks included
    EXPECT_EQ(d.format, DiskFormat::Qcow2);
    EXPECT_EQ(d.backend, DiskBackend::Qdisk);
    EXPECT_EQ(d.backend_domname, "storage-dom");
    EXPECT_EQ(d.script, "block-iscsi");
    EXPECT_TRUE(d.direct_io_safe);
    EXPECT_EQ(d.discard, false);
    EXPECT_FALSE(d.readwrite);
    EXPECT_EQ(disk_ok("/x,vhd,xvdd,discard").discard, true);
    EXPECT_EQ(disk_ok("/x,qed,sda").format, DiskFormat::Qed);
    EXPECT_EQ(disk_ok("/x,qcow,xvde,rw,devtype=disk").format, DiskFormat::Qcow);
}

TEST(DiskSpec, BrokenSpecsSayWhereAndWhat)
{
    const BadCase cases[] = {
        { "/x,,xvda,rw,extra", 12, "too many positional parameters" },
        { "/x,raw", 6, "no vdev" },
        { "/x,xvda", 3, "unknown disk format 'xvda'" },
        { "/x,,xvda,rx", 9, "unknown access 'rx'" },
        { "/x,,xvda,devtype=floppy", 17, "unknown devtype 'floppy'" },
        { "/x,,xvda,backendtype=nfs", 21, "unknown backendtype 'nfs'" },
        { "/x,,xvda,colo,colo-host=h", 9, "COLO" },
        { "/x,,xvda,colo-port=9000", 9, "'colo-port': COLO" },
        { "/x,,xvda,speed=fast", 9, "unknown disk parameter 'speed'" },
        { "/x,,xvda,vdev=xvdb", 9, "'vdev' is given twice" },
        { "/x,,xvda,discard,no-discard", 17, "discard is given twice" },
        { ",,xvda", 0, "no target: only a cdrom" },
        { "/x,,xv/da", 4, "vdev 'xv/da' is not a device name" },
        { "raw:/x,xvda,w,format=qcow2", 14, "'format' is given twice" },
        { "phy:/x,raw,xvda", 11, "unknown access 'xvda'" }, // after a prefix, no format comes by position
    };
    for (const auto& c : cases) {
        auto r = parse_disk_spec(c.text);
        ASSERT_FALSE(r.has_value()) << c.text;
        EXPECT_EQ(r.error().offset, c.offset) << c.text << ": " << r.error().message;
        EXPECT_NE(r.error().message.find(c.message), std::string::npos) << c.text << ": " << r.error().message;
    }
}

TEST(VifSpec, EveryKey)
{
    auto v = vif_ok("mac=00:16:3E:74:3d:76,bridge=xenbr1,gatewaydev=eth0,type=ioemu,model=e1000,vifname=web0,"
                    "script=vif-route,ip=192.0.2.7,backend=netdom,rate=10Mb/s,devid=3,mtu=9000,accel=x");
    ASSERT_TRUE(v.mac);
    EXPECT_EQ(mac_str(*v.mac), "00:16:3e:74:3d:76");
    EXPECT_EQ(v.bridge, "xenbr1");
    EXPECT_EQ(v.gatewaydev, "eth0");
    EXPECT_EQ(v.type, NicType::VifIoemu);
    EXPECT_EQ(v.model, "e1000");
    EXPECT_EQ(v.vifname, "web0");
    EXPECT_EQ(v.script, "vif-route");
    EXPECT_EQ(v.ip, "192.0.2.7");
    EXPECT_EQ(v.backend_domname, "netdom");
    EXPECT_EQ(v.rate_bytes_per_interval, 62500u); // 10 Mbit/s = 1.25 MB/s, over the default 50 ms
    EXPECT_EQ(v.rate_interval_usecs, 50000u);
    EXPECT_EQ(v.devid, 3u);
    EXPECT_EQ(v.mtu, 9000u);
    EXPECT_EQ(vif_ok("netdev=eth1").gatewaydev, "eth1");
    EXPECT_EQ(vif_ok("type=vif").type, NicType::Vif);
    EXPECT_EQ(vif_ok(""), VifSpec {});
}

// xl-network-configuration(5): "1MB/s@20ms" is 20,000 bytes every 20,000 us.
TEST(VifSpec, RatesAsTheManualCountsThem)
{
    auto a = vif_ok("rate=1MB/s@20ms");
    EXPECT_EQ(a.rate_bytes_per_interval, 20000u);
    EXPECT_EQ(a.rate_interval_usecs, 20000u);
    auto b = vif_ok("rate=250KB/s");
    EXPECT_EQ(b.rate_bytes_per_interval, 12500u);
    auto c = vif_ok("rate=1Gb/s@1s");
    EXPECT_EQ(c.rate_bytes_per_interval, 125000000u);
    EXPECT_EQ(c.rate_interval_usecs, 1000000u);
    EXPECT_EQ(vif_ok("rate=800B/s@2500us").rate_bytes_per_interval, 2u);
}

TEST(VifSpec, BrokenSpecsSayWhereAndWhat)
{
    const BadCase cases[] = {
        { "mac=00:16:3e:74:3d", 4, "mac '00:16:3e:74:3d' is not six hex octets" },
        { "bridge=br0,mac=00:16:3e:zz:00:01", 15, "is not six hex octets" },
        { "type=e1000", 5, "unknown type 'e1000'" },
        { "rate=10Mb", 5, "must be per second" },
        { "rate=10Xb/s", 7, "unknown rate unit 'Xb'" },
        { "rate=10Mb/s@5h", 13, "unknown interval unit 'h'" },
        { "rate=1b/s@1us", 5, "no whole byte" },
        { "mtu=20", 4, "'mtu' expects a number from 68 to 65535" },
        { "devid=x", 6, "'devid' expects a number" },
        { "bridge=a,bridge=b", 9, "'bridge' is given twice" },
        { "gatewaydev=a,netdev=b", 13, "'netdev' is given twice" },
        { "xenbr0", 0, "'xenbr0' is not KEY=VALUE" },
        { "mac=00:16:3e:00:00:01, colour=red", 23, "unknown vif parameter 'colour'" },
    };
    for (const auto& c : cases) {
        auto r = parse_vif_spec(c.text);
        ASSERT_FALSE(r.has_value()) << c.text;
        EXPECT_EQ(r.error().offset, c.offset) << c.text << ": " << r.error().message;
        EXPECT_NE(r.error().message.find(c.message), std::string::npos) << c.text << ": " << r.error().message;
    }
}

TEST(VifSpec, MacRoundTrip)
{
    auto m = parse_mac("aa:BB:0c:1d:e2:F3");
    ASSERT_TRUE(m);
    EXPECT_EQ(mac_str(*m), "aa:bb:0c:1d:e2:f3");
    EXPECT_FALSE(parse_mac("aa:bb:cc:dd:ee"));
    EXPECT_FALSE(parse_mac("aa-bb-cc-dd-ee-ff"));
}
