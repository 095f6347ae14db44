// Facts of the xenstore wire protocol (Xen's public io/xs_wire.h and docs/misc/xenstore*.txt):
// message types, the message header, error names, limits and the shared ring page layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace xkvm::xenstore {

using DomId = uint16_t;

enum class MsgType : uint32_t {
    Control = 0, // formerly DEBUG
    Directory = 1,
    Read = 2,
    GetPerms = 3,
    Watch = 4,
    Unwatch = 5,
    TransactionStart = 6,
    TransactionEnd = 7,
    Introduce = 8,
    Release = 9,
    GetDomainPath = 10,
    Write = 11,
    Mkdir = 12,
    Rm = 13,
    SetPerms = 14,
    WatchEvent = 15,
    Error = 16,
    IsDomainIntroduced = 17,
    Resume = 18,
    SetTarget = 19,
    Restrict = 20, // removed from the protocol; always answered with an error
    ResetWatches = 21,
    DirectoryPart = 22,
    Invalid = 0xffff,
};

std::string_view msg_type_name(uint32_t type);

// struct xsd_sockmsg: every message in either direction starts with this, followed by `len` bytes.
struct WireHeader {
    uint32_t type;
    uint32_t req_id; // echoed in the reply
    uint32_t tx_id; // 0 outside a transaction
    uint32_t len; // payload bytes following the header
};
static_assert(sizeof(WireHeader) == 16);

inline constexpr size_t kHeaderSize = sizeof(WireHeader);
inline constexpr uint32_t kPayloadMax = 4096; // XENSTORE_PAYLOAD_MAX, both directions
inline constexpr size_t kAbsPathMax = 3072; // XENSTORE_ABS_PATH_MAX
inline constexpr size_t kRelPathMax = 2048; // XENSTORE_REL_PATH_MAX

// Special domain ids (xen.h). Guests never have ids at or above kDomIdFirstReserved.
inline constexpr uint32_t kDomIdFirstReserved = 0x7ff0;

// Errors travel as the errno's name. Only these names are defined; anything else is sent as EINVAL.
// Returns nullopt for an errno that has no wire name.
std::optional<std::string_view> error_name(int err);
// The wire name for `err`, falling back to "EINVAL" as xenstored does.
std::string_view error_name_or_einval(int err);
// Reverse mapping, for clients and tests.
std::optional<int> error_from_name(std::string_view name);

// Special watch paths, fired by the daemon itself.
inline constexpr std::string_view kIntroduceDomainPath = "@introduceDomain";
inline constexpr std::string_view kReleaseDomainPath = "@releaseDomain";

// ---- The shared ring page (struct xenstore_domain_interface) ----
inline constexpr uint32_t kRingSize = 1024; // XENSTORE_RING_SIZE, a power of two

struct RingInterface {
    char req[kRingSize]; // guest -> server
    char rsp[kRingSize]; // server -> guest (replies and watch events)
    uint32_t req_cons;
    uint32_t req_prod;
    uint32_t rsp_cons;
    uint32_t rsp_prod;
    uint32_t server_features;
    uint32_t connection;
    uint32_t error;
};
static_assert(offsetof(RingInterface, rsp) == 1024);
static_assert(offsetof(RingInterface, req_cons) == 2048);
static_assert(offsetof(RingInterface, req_prod) == 2052);
static_assert(offsetof(RingInterface, rsp_cons) == 2056);
static_assert(offsetof(RingInterface, rsp_prod) == 2060);
static_assert(offsetof(RingInterface, server_features) == 2064);
static_assert(offsetof(RingInterface, connection) == 2068);
static_assert(offsetof(RingInterface, error) == 2072);
static_assert(sizeof(RingInterface) == 2076);

inline constexpr uint32_t kFeatureReconnection = 1; // XENSTORE_SERVER_FEATURE_RECONNECTION
inline constexpr uint32_t kFeatureError = 2; // XENSTORE_SERVER_FEATURE_ERROR

inline constexpr uint32_t kConnected = 0; // XENSTORE_CONNECTED
inline constexpr uint32_t kReconnect = 1; // XENSTORE_RECONNECT: guest asks for a ring reset

inline constexpr uint32_t kErrorNone = 0; // XENSTORE_ERROR_NONE
inline constexpr uint32_t kErrorComm = 1; // XENSTORE_ERROR_COMM
inline constexpr uint32_t kErrorRingIdx = 2; // XENSTORE_ERROR_RINGIDX: inconsistent indices
inline constexpr uint32_t kErrorProto = 3; // XENSTORE_ERROR_PROTO: payload too long

} // namespace xkvm::xenstore
