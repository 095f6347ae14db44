// Tokens of the xl.cfg grammar: KEY, "STRING" / 'STRING', NUMBER, =, +=, [, ], ",", ";", newline.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config_error.h"

namespace xkvm::config {

enum class TokenKind { Ident, String, Number, Assign, Append, LBracket, RBracket, Comma, Semicolon, Newline, End };

struct Token {
    TokenKind kind = TokenKind::End;
    std::string text; // Ident: the name; String: contents with escapes resolved; Number: as written
    Position pos;     // first character of the token (the opening quote for strings)
    bool verbatim = false; // String without escapes: contents map byte for byte onto the source
};

// Human words for a token kind, for "expected X, found Y" messages.
std::string_view describe(TokenKind kind);
std::string describe(const Token& token);

class Lexer {
public:
    // `line` is the line number reported for the first line of `text` (overrides are one line each).
    Lexer(std::string_view text, std::string file, uint32_t line = 1);

    ConfigResult<Token> next();

private:
    Position here() const;
    Position at(size_t offset) const;
    ConfigResult<Token> lex_string();
    ConfigResult<Token> lex_number();
    void skip_blanks_and_comments();

    std::string_view m_text;
    std::string m_file;
    size_t m_offset = 0;
    size_t m_line_start = 0;
    uint32_t m_line;
};

} // namespace xkvm::config
