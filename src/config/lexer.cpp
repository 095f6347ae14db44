#include "config/lexer.h"

#include <cctype>

#include "config/utf8.h"

namespace xkvm::config {

namespace {

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

std::string printable(char c)
{
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f)
        return std::string(1, c);
    return fmt::format("\\x{:02x}", u);
}

// Decimal, octal (leading 0) or hexadecimal (0x): the NUMBER forms xl.cfg(5) documents.
bool valid_number(std::string_view s)
{
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        for (size_t i = 2; i < s.size(); i++)
            if (!is_hex(s[i]))
                return false;
        return true;
    }
    if (s.size() > 1 && s[0] == '0') {
        for (char c : s.substr(1))
            if (c < '0' || c > '7')
                return false;
        return true;
    }
    for (char c : s)
        if (!is_digit(c))
            return false;
    return !s.empty();
}

} // namespace

std::string_view describe(TokenKind kind)
{
    switch (kind) {
    case TokenKind::Ident: return "a key";
    case TokenKind::String: return "a string";
    case TokenKind::Number: return "a number";
    case TokenKind::Assign: return "'='";
    case TokenKind::Append: return "'+='";
    case TokenKind::LBracket: return "'['";
    case TokenKind::RBracket: return "']'";
    case TokenKind::Comma: return "','";
    case TokenKind::Semicolon: return "';'";
    case TokenKind::Newline: return "end of line";
    case TokenKind::End: return "end of input";
    }
    return "?";
}

std::string describe(const Token& token)
{
    switch (token.kind) {
    case TokenKind::Ident: return fmt::format("'{}'", token.text);
    case TokenKind::Number: return fmt::format("number {}", token.text);
    default: return std::string(describe(token.kind));
    }
}

Lexer::Lexer(std::string_view text, std::string file, uint32_t line)
    : m_text(text), m_file(std::move(file)), m_line(line)
{
}

Position Lexer::here() const { return at(m_offset); }

Position Lexer::at(size_t offset) const
{
    return Position { m_file, m_line, static_cast<uint32_t>(offset - m_line_start + 1) };
}

void Lexer::skip_blanks_and_comments()
{
    while (m_offset < m_text.size()) {
        char c = m_text[m_offset];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            m_offset++;
        } else if (c == '#') {
            while (m_offset < m_text.size() && m_text[m_offset] != '\n')
                m_offset++;
        } else {
            break;
        }
    }
}

ConfigResult<Token> Lexer::next()
{
    skip_blanks_and_comments();
    Token tok;
    tok.pos = here();
    if (m_offset >= m_text.size()) {
        tok.kind = TokenKind::End;
        return tok;
    }
    char c = m_text[m_offset];
    auto single = [&](TokenKind kind) -> ConfigResult<Token> {
        tok.kind = kind;
        m_offset++;
        return tok;
    };
    switch (c) {
    case '\n':
        tok.kind = TokenKind::Newline;
        m_offset++;
        m_line++;
        m_line_start = m_offset;
        return tok;
    case '=': return single(TokenKind::Assign);
    case '[': return single(TokenKind::LBracket);
    case ']': return single(TokenKind::RBracket);
    case ',': return single(TokenKind::Comma);
    case ';': return single(TokenKind::Semicolon);
    case '+':
        if (m_offset + 1 < m_text.size() && m_text[m_offset + 1] == '=') {
            tok.kind = TokenKind::Append;
            m_offset += 2;
            return tok;
        }
        return config_fail(tok.pos, "expected '+=' after '+'");
    case '"':
    case '\'':
        return lex_string();
    default:
        break;
    }
    if (is_digit(c))
        return lex_number();
    if (is_ident_start(c)) {
        size_t start = m_offset;
        while (m_offset < m_text.size() && is_ident_char(m_text[m_offset]))
            m_offset++;
        tok.kind = TokenKind::Ident;
        tok.text = std::string(m_text.substr(start, m_offset - start));
        return tok;
    }
    return config_fail(tok.pos, "unexpected character '{}'", printable(c));
}

ConfigResult<Token> Lexer::lex_number()
{
    Token tok;
    tok.kind = TokenKind::Number;
    tok.pos = here();
    size_t start = m_offset;
    while (m_offset < m_text.size() && (is_ident_char(m_text[m_offset]) || m_text[m_offset] == '.'))
        m_offset++;
    tok.text = std::string(m_text.substr(start, m_offset - start));
    if (!valid_number(tok.text))
        return config_fail(tok.pos, "invalid number '{}' (expected decimal, 0-prefixed octal or 0x-prefixed hex)",
                           tok.text);
    return tok;
}

ConfigResult<Token> Lexer::lex_string()
{
    Token tok;
    tok.kind = TokenKind::String;
    tok.pos = here();
    tok.verbatim = true;
    char quote = m_text[m_offset++];
    while (true) {
        if (m_offset >= m_text.size() || m_text[m_offset] == '\n')
            return config_fail(tok.pos, "unterminated string (missing closing {})", quote);
        char c = m_text[m_offset];
        if (c == quote) {
            m_offset++;
            if (auto bad = utf8_error(tok.text))
                return config_fail(tok.verbatim ? at(tok.pos.column + *bad + m_line_start) : tok.pos,
                                   "string is not valid UTF-8 (byte 0x{:02x})",
                                   static_cast<unsigned char>(tok.text[*bad]));
            return tok;
        }
        if (c == '\0')
            return config_fail(here(), "NUL character in string");
        if (c != '\\') {
            tok.text.push_back(c);
            m_offset++;
            continue;
        }
        tok.verbatim = false;
        Position esc_pos = here();
        m_offset++;
        if (m_offset >= m_text.size() || m_text[m_offset] == '\n')
            return config_fail(tok.pos, "unterminated string (missing closing {})", quote);
        char e = m_text[m_offset++];
        switch (e) {
        case '\\': tok.text.push_back('\\'); break;
        case '\'': tok.text.push_back('\''); break;
        case '"': tok.text.push_back('"'); break;
        case 'a': tok.text.push_back('\a'); break;
        case 'b': tok.text.push_back('\b'); break;
        case 'f': tok.text.push_back('\f'); break;
        case 'n': tok.text.push_back('\n'); break;
        case 'r': tok.text.push_back('\r'); break;
        case 't': tok.text.push_back('\t'); break;
        case 'v': tok.text.push_back('\v'); break;
        case 'x': {
            unsigned value = 0;
            int digits = 0;
            while (digits < 2 && m_offset < m_text.size() && is_hex(m_text[m_offset])) {
                char h = m_text[m_offset++];
                value = value * 16 + static_cast<unsigned>(is_digit(h) ? h - '0' : (std::tolower(h) - 'a' + 10));
                digits++;
            }
            if (digits == 0)
                return config_fail(esc_pos, "expected hex digits after '\\x'");
            if (value == 0)
                return config_fail(esc_pos, "NUL character in string");
            tok.text.push_back(static_cast<char>(value));
            break;
        }
        default:
            if (e >= '0' && e <= '7') {
                unsigned value = static_cast<unsigned>(e - '0');
                int digits = 1;
                while (digits < 3 && m_offset < m_text.size() && m_text[m_offset] >= '0' && m_text[m_offset] <= '7') {
                    value = value * 8 + static_cast<unsigned>(m_text[m_offset++] - '0');
                    digits++;
                }
                if (value == 0 || value > 0xff)
                    return config_fail(esc_pos, "octal escape out of range (expected \\1 to \\377)");
                tok.text.push_back(static_cast<char>(value));
                break;
            }
            return config_fail(esc_pos,
                               "unknown escape sequence '\\{}' (expected one of \\\\ \\' \\\" \\n \\t \\r \\a \\b "
                               "\\f \\v \\xHH \\NNN)",
                               printable(e));
        }
    }
}

} // namespace xkvm::config
