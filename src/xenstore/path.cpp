#include "xenstore/path.h"

#include <cerrno>

#include <fmt/format.h>

namespace xkvm::xenstore {

namespace {

bool valid_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
        || c == '/' || c == '_' || c == '@';
}

// Shape rules shared by absolute and relative forms: characters, no "//", no trailing "/".
bool well_formed(std::string_view p)
{
    if (p.empty() || !has_valid_chars(p))
        return false;
    if (p.find("//") != std::string_view::npos)
        return false;
    return p == "/" || p.back() != '/';
}

} // namespace

std::string home_path(DomId domid)
{
    return fmt::format("/local/domain/{}", domid);
}

bool has_valid_chars(std::string_view path)
{
    for (char c : path)
        if (!valid_char(c))
            return false;
    return true;
}

bool is_special(std::string_view input)
{
    return !input.empty() && input.front() == '@';
}

Status validate_special(std::string_view input)
{
    if (!is_special(input) || input.size() < 2 || input.size() > kRelPathMax || !has_valid_chars(input))
        return fail(EINVAL, "invalid special path");
    return {};
}

Result<CanonicalPath> canonicalize(std::string_view input, DomId caller)
{
    if (is_special(input))
        return fail(EINVAL, "special path where a node path is needed");
    if (!well_formed(input))
        return fail(EINVAL, "malformed path");
    CanonicalPath out;
    if (input.front() == '/') {
        out.path = std::string(input);
    } else {
        if (input.size() > kRelPathMax)
            return fail(EINVAL, "relative path of {} bytes is too long", input.size());
        out.path = join_path(home_path(caller), input);
        out.relative = true;
    }
    if (out.path.size() > kAbsPathMax)
        return fail(EINVAL, "path of {} bytes is too long", out.path.size());
    return out;
}

bool is_child(std::string_view child, std::string_view parent)
{
    if (parent == "/")
        return !child.empty() && child.front() == '/';
    if (!child.starts_with(parent))
        return false;
    return child.size() == parent.size() || child[parent.size()] == '/';
}

std::string_view parent_of(std::string_view path)
{
    size_t slash = path.rfind('/');
    if (slash == 0 || slash == std::string_view::npos)
        return "/";
    return path.substr(0, slash);
}

std::string_view basename_of(std::string_view path)
{
    size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string join_path(std::string_view parent, std::string_view name)
{
    std::string out;
    out.reserve(parent.size() + 1 + name.size()); // one allocation: paths are longer than SSO
    out.append(parent);
    if (out != "/")
        out.push_back('/');
    out.append(name);
    return out;
}

std::string relative_to_home(std::string_view path, DomId domid)
{
    std::string home = home_path(domid);
    if (path.size() > home.size() + 1 && path.starts_with(home) && path[home.size()] == '/')
        return std::string(path.substr(home.size() + 1));
    return std::string(path);
}

} // namespace xkvm::xenstore
