#include "config/parser.h"

#include <cerrno>
#include <fstream>
#include <unordered_map>

#include "config/keys.h"
#include "config/lexer.h"

namespace xkvm::config {

namespace {

struct Statement {
    std::string key;
    Position key_pos;
    bool append = false;
    Value value;
};

class Parser {
public:
    Parser(std::string_view text, std::string file, uint32_t line) : m_lexer(text, std::move(file), line) { }

    ConfigResult<std::vector<Statement>> parse_all()
    {
        std::vector<Statement> out;
        TRY(advance());
        while (true) {
            while (m_tok.kind == TokenKind::Newline || m_tok.kind == TokenKind::Semicolon)
                TRY(advance());
            if (m_tok.kind == TokenKind::End)
                return out;
            out.push_back(TRY(parse_statement()));
        }
    }

private:
    Result<void, ConfigError> advance()
    {
        m_tok = TRY(m_lexer.next());
        return {};
    }

    Result<void, ConfigError> skip_newlines()
    {
        while (m_tok.kind == TokenKind::Newline)
            TRY(advance());
        return {};
    }

    ConfigResult<Statement> parse_statement()
    {
        if (m_tok.kind != TokenKind::Ident)
            return config_fail(m_tok.pos, "expected a key at the start of a statement, found {}", describe(m_tok));
        Statement st;
        st.key = m_tok.text;
        st.key_pos = m_tok.pos;
        TRY(advance());
        if (m_tok.kind != TokenKind::Assign && m_tok.kind != TokenKind::Append)
            return config_fail(m_tok.pos, "expected '=' or '+=' after '{}', found {}", st.key, describe(m_tok));
        st.append = m_tok.kind == TokenKind::Append;
        TRY(advance());
        st.value = TRY(parse_value(0));
        if (m_tok.kind != TokenKind::Newline && m_tok.kind != TokenKind::Semicolon && m_tok.kind != TokenKind::End)
            return config_fail(m_tok.pos, "expected end of line or ';' after the value of '{}', found {}", st.key,
                               describe(m_tok));
        return st;
    }

    ConfigResult<Value> parse_value(int depth)
    {
        Value v;
        v.pos = m_tok.pos;
        switch (m_tok.kind) {
        case TokenKind::String:
            v.kind = Value::Kind::String;
            v.text = std::move(m_tok.text);
            v.verbatim = m_tok.verbatim;
            TRY(advance());
            return v;
        case TokenKind::Number:
            v.kind = Value::Kind::Number;
            v.text = std::move(m_tok.text);
            TRY(advance());
            return v;
        case TokenKind::LBracket:
            return parse_list(depth + 1);
        case TokenKind::Ident:
            return config_fail(m_tok.pos,
                               "expected a value (a quoted string, a number or a [ list ]), found '{}'; "
                               "strings must be quoted, e.g. \"{}\"",
                               m_tok.text, m_tok.text);
        default:
            return config_fail(m_tok.pos, "expected a value (a quoted string, a number or a [ list ]), found {}",
                               describe(m_tok));
        }
    }

    ConfigResult<Value> parse_list(int depth)
    {
        Value list;
        list.kind = Value::Kind::List;
        list.pos = m_tok.pos;
        if (depth > kMaxListDepth)
            return config_fail(list.pos, "lists nested more than {} deep", kMaxListDepth);
        TRY(advance());
        TRY(skip_newlines());
        while (m_tok.kind != TokenKind::RBracket) {
            if (m_tok.kind == TokenKind::End)
                return config_fail(list.pos, "list is never closed (missing ']')");
            list.items.push_back(TRY(parse_value(depth)));
            TRY(skip_newlines());
            if (m_tok.kind == TokenKind::Comma) {
                TRY(advance());
                TRY(skip_newlines());
            } else if (m_tok.kind == TokenKind::End) {
                return config_fail(list.pos, "list is never closed (missing ']')");
            } else if (m_tok.kind != TokenKind::RBracket) {
                return config_fail(m_tok.pos, "expected ',' or ']' in list, found {}", describe(m_tok));
            }
        }
        TRY(advance());
        return list;
    }

    Lexer m_lexer;
    Token m_tok;
};

class Store {
public:
    explicit Store(ParsedConfig& cfg) : m_cfg(cfg) { }

    Result<void, ConfigError> apply(Statement&& st)
    {
        auto it = m_index.find(st.key);
        if (it == m_index.end()) {
            m_index.emplace(st.key, m_cfg.settings.size());
            m_cfg.settings.push_back(Setting { std::move(st.key), st.key_pos, std::move(st.value) });
            return {};
        }
        Setting& s = m_cfg.settings[it->second];
        s.key_pos = st.key_pos;
        if (!st.append) {
            s.value = std::move(st.value);
            return {};
        }
        return append(s, std::move(st.value));
    }

private:
    static Result<void, ConfigError> append(Setting& s, Value&& v)
    {
        using K = Value::Kind;
        if (s.value.kind == K::List) {
            if (v.kind == K::List) {
                for (auto& item : v.items)
                    s.value.items.push_back(std::move(item));
            } else {
                s.value.items.push_back(std::move(v));
            }
            return {};
        }
        if (s.value.kind == K::String && v.kind == K::String) {
            s.value.text += v.text;
            s.value.verbatim = false;
            return {};
        }
        return config_fail(v.pos, "cannot append {} to '{}', which is {} (+= joins two strings or extends a list)",
                           v.kind_name(), s.key, s.value.kind_name());
    }

    ParsedConfig& m_cfg;
    std::unordered_map<std::string, size_t> m_index;
};

} // namespace

Position Value::at(size_t offset) const
{
    if (kind != Kind::String || !verbatim || offset > text.size())
        return pos;
    Position p = pos;
    p.column += static_cast<uint32_t>(offset + 1);
    return p;
}

std::string_view Value::kind_name() const
{
    switch (kind) {
    case Kind::String: return "a string";
    case Kind::Number: return "a number";
    case Kind::List: return "a list";
    }
    return "?";
}

const Setting* ParsedConfig::find(std::string_view key) const
{
    for (const auto& s : settings)
        if (s.key == key)
            return &s;
    return nullptr;
}

ConfigResult<ParsedConfig> parse_string(std::string_view text, std::string source_name,
                                        const std::vector<std::string>& overrides)
{
    // Editors on some systems save one; xl's parser chokes on it as a stray character, so name it.
    if (text.starts_with("\xEF\xBB\xBF"))
        return config_fail(Position { source_name, 1, 1 }, "the file starts with a UTF-8 byte-order mark (bytes EF BB "
                                                           "BF); xl.cfg files are plain text, save it without one");
    ParsedConfig cfg;
    cfg.source = source_name;
    Store store(cfg);
    for (auto& st : TRY(Parser(text, std::move(source_name), 1).parse_all()))
        TRY(store.apply(std::move(st)));
    for (size_t i = 0; i < overrides.size(); i++) {
        auto line = static_cast<uint32_t>(i + 1);
        if (auto nl = overrides[i].find('\n'); nl != std::string::npos)
            return config_fail(Position { std::string(kCommandLineSource), line, static_cast<uint32_t>(nl + 1) },
                               "an override must be a single line");
        for (auto& st : TRY(Parser(overrides[i], std::string(kCommandLineSource), line).parse_all()))
            TRY(store.apply(std::move(st)));
    }
    cfg.warnings = key_warnings(cfg);
    return cfg;
}

ConfigResult<ParsedConfig> parse_file(const std::string& path, const std::vector<std::string>& overrides)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return make_unexpected(ConfigError { path, 0, 0, fmt::format("cannot open: {}", errno_string(errno)) });
    std::string text;
    char buf[4096];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        text.append(buf, static_cast<size_t>(in.gcount()));
        if (text.size() > kMaxConfigFileBytes)
            return make_unexpected(
                ConfigError { path, 0, 0, fmt::format("file is larger than {} bytes", kMaxConfigFileBytes) });
    }
    if (in.bad())
        return make_unexpected(ConfigError { path, 0, 0, "read error" });
    return parse_string(text, path, overrides);
}

} // namespace xkvm::config
