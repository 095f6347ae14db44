// xenstore path rules: allowed characters, length limits, relative paths (under /local/domain/<id>),
// special "@..." watch paths, and parent/child arithmetic on absolute paths.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "xenstore/wire.h"

namespace xkvm::xenstore {

// "/local/domain/<domid>", the base of a domain's relative paths.
std::string home_path(DomId domid);

// ASCII alphanumerics and - / _ @ only.
bool has_valid_chars(std::string_view path);

// A path given by a client, made absolute. Relative paths resolve under home_path(caller).
// EINVAL for: empty, bad characters, "//", a trailing "/" (except "/" itself), a relative path
// longer than kRelPathMax, an absolute result longer than kAbsPathMax, or a leading '@'.
struct CanonicalPath {
    std::string path; // absolute
    bool relative = false; // the client wrote it relative
};
Result<CanonicalPath> canonicalize(std::string_view input, DomId caller);

// Special paths ("@introduceDomain", any "@..." for watches) are not part of the tree.
bool is_special(std::string_view input);
// EINVAL unless `input` is '@' followed by valid characters, within kRelPathMax.
Status validate_special(std::string_view input);

// `child` is `parent`, or below it. "/" is the parent of every absolute path.
bool is_child(std::string_view child, std::string_view parent);

// Precondition: an absolute path other than "/".
std::string_view parent_of(std::string_view path);
std::string_view basename_of(std::string_view path);
std::string join_path(std::string_view parent, std::string_view name);

// An absolute path below home_path(domid), as the domain wrote it relative. Paths outside
// the home are returned unchanged.
std::string relative_to_home(std::string_view path, DomId domid);

} // namespace xkvm::xenstore
