#include "config/parser.h"

#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

#include "config/keys.h"
#include "config/utf8.h"
#include "config/values.h"

using namespace xkvm::config;

namespace {

ParsedConfig parse_ok(std::string_view text, const std::vector<std::string>& overrides = {})
{
    auto r = parse_string(text, "t.cfg", overrides);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().str());
    return r ? r.release_value() : ParsedConfig {};
}

std::string parse_err(std::string_view text, const std::vector<std::string>& overrides = {})
{
    auto r = parse_string(text, "t.cfg", overrides);
    EXPECT_FALSE(r.has_value()) << "parsed unexpectedly";
    return r ? "" : r.error().str();
}

const Value& value_of(const ParsedConfig& cfg, std::string_view key)
{
    const Setting* s = cfg.find(key);
    EXPECT_NE(s, nullptr) << key;
    static const Value none;
    return s ? s->value : none;
}

} // namespace

TEST(Parser, ScalarsInBothQuotesAndNumberForms)
{
    auto cfg = parse_ok("name = \"h0\"\ntype='hvm'\nmemory=1024\nvcpus = 0x10\nmaxvcpus=020\n");
    ASSERT_EQ(cfg.settings.size(), 5u);
    EXPECT_EQ(value_of(cfg, "name").text, "h0");
    EXPECT_EQ(value_of(cfg, "name").kind, Value::Kind::String);
    EXPECT_EQ(value_of(cfg, "type").text, "hvm");
    EXPECT_EQ(value_of(cfg, "memory").kind, Value::Kind::Number);
    EXPECT_EQ(parse_number(value_of(cfg, "vcpus").text), 16u);
    EXPECT_EQ(parse_number(value_of(cfg, "maxvcpus").text), 16u); // octal, as xl.cfg(5) says
    EXPECT_EQ(cfg.settings[0].key, "name");
    EXPECT_EQ(cfg.settings[4].key, "maxvcpus");
}

TEST(Parser, PositionsAreOneBasedLineAndColumn)
{
    auto cfg = parse_ok("\n  memory =  512\n");
    const Setting* s = cfg.find("memory");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->key_pos, (Position { "t.cfg", 2, 3 }));
    EXPECT_EQ(s->value.pos, (Position { "t.cfg", 2, 13 }));
}

TEST(Parser, SemicolonsCommentsAndCrlf)
{
    auto cfg = parse_ok("name=\"h0\"; type=\"hvm\" # trailing comment\r\n# whole line\r\nvcpus=2;\r\n");
    EXPECT_EQ(cfg.settings.size(), 3u);
    EXPECT_EQ(value_of(cfg, "vcpus").text, "2");
    EXPECT_EQ(value_of(cfg, "type").text, "hvm");
}

TEST(Parser, HashInsideStringIsNotAComment)
{
    auto cfg = parse_ok("extra = \"console=hvc0 # not a comment\"\n");
    EXPECT_EQ(value_of(cfg, "extra").text, "console=hvc0 # not a comment");
}

TEST(Parser, ListsSpanLinesWithTrailingCommasAndComments)
{
    auto cfg = parse_ok("pci = [\n  '03:00.0', # first\n\n  \"04:00.0\",\n]\nserial=[]\nvnuma=[[\"a\",\"b\"],[\"c\"]]\n");
    const Value& pci = value_of(cfg, "pci");
    ASSERT_EQ(pci.kind, Value::Kind::List);
    ASSERT_EQ(pci.items.size(), 2u);
    EXPECT_EQ(pci.items[0].text, "03:00.0");
    EXPECT_EQ(pci.items[1].pos, (Position { "t.cfg", 4, 3 }));
    EXPECT_TRUE(value_of(cfg, "serial").items.empty());
    const Value& nested = value_of(cfg, "vnuma");
    ASSERT_EQ(nested.items.size(), 2u);
    EXPECT_EQ(nested.items[0].items.size(), 2u);
    EXPECT_EQ(nested.items[1].items[0].text, "c");
}

TEST(Parser, StringEscapes)
{
    auto cfg = parse_ok(R"(cmdline = "a\tb\\c\"d\x41\101\n'")" "\n" R"(root='it\'s')");
    EXPECT_EQ(value_of(cfg, "cmdline").text, "a\tb\\c\"dAA\n'");
    EXPECT_FALSE(value_of(cfg, "cmdline").verbatim);
    EXPECT_EQ(value_of(cfg, "root").text, "it's");
}

TEST(Parser, VerbatimStringsMapOffsetsToColumns)
{
    auto cfg = parse_ok("pci = [ \"03:00.0,foo=1\" ]\nextra=\"a\\tb,x\"\n");
    const Value& item = value_of(cfg, "pci").items[0];
    EXPECT_TRUE(item.verbatim);
    EXPECT_EQ(item.at(8), (Position { "t.cfg", 1, 18 })); // the 'f' of foo
    const Value& extra = value_of(cfg, "extra");
    EXPECT_EQ(extra.at(3), extra.pos); // escapes break the mapping: point at the string
}

TEST(Parser, LaterAssignmentReplacesEarlierInPlace)
{
    auto cfg = parse_ok("memory=512\nname=\"a\"\nmemory=1024\n");
    ASSERT_EQ(cfg.settings.size(), 2u);
    EXPECT_EQ(cfg.settings[0].key, "memory");
    EXPECT_EQ(cfg.settings[0].value.text, "1024");
    EXPECT_EQ(cfg.settings[0].key_pos.line, 3u);
}

TEST(Parser, AppendJoinsStringsAndExtendsLists)
{
    auto cfg = parse_ok("extra=\"quiet\"\nextra += \" splash\"\npci=['01:00.0']\npci += ['02:00.0', '03:00.0']\n"
                        "pci += '04:00.0'\nserial += 'pty'\n");
    EXPECT_EQ(value_of(cfg, "extra").text, "quiet splash");
    const Value& pci = value_of(cfg, "pci");
    ASSERT_EQ(pci.items.size(), 4u);
    EXPECT_EQ(pci.items[3].text, "04:00.0");
    EXPECT_EQ(pci.items[1].pos.line, 4u);
    EXPECT_EQ(value_of(cfg, "serial").text, "pty"); // += on a new key is plain assignment
}

TEST(Parser, AppendTypeMismatchIsAnError)
{
    EXPECT_EQ(parse_err("memory=512\nmemory += 5\n"),
              "t.cfg:2:11: error: cannot append a number to 'memory', which is a number (+= joins two strings or "
              "extends a list)");
    EXPECT_EQ(parse_err("extra='a'\nextra += ['b']\n"),
              "t.cfg:2:10: error: cannot append a list to 'extra', which is a string (+= joins two strings or extends "
              "a list)");
}

TEST(Parser, CommandLineOverridesApplyAfterTheFile)
{
    auto cfg = parse_ok("name='a'\nmemory=512\npci=['01:00.0']\n", { "memory=2048", "pci+=['02:00.0']", "vcpus=4" });
    EXPECT_EQ(value_of(cfg, "memory").text, "2048");
    EXPECT_EQ(value_of(cfg, "memory").pos, (Position { std::string(kCommandLineSource), 1, 8 }));
    EXPECT_EQ(value_of(cfg, "pci").items.size(), 2u);
    EXPECT_EQ(value_of(cfg, "vcpus").pos.line, 3u);
    EXPECT_EQ(cfg.source, "t.cfg");
}

TEST(Parser, OverrideErrorsNameTheOverride)
{
    EXPECT_EQ(parse_err("name='a'\n", { "memory=1024", "name=web" }),
              "<command line>:2:6: error: expected a value (a quoted string, a number or a [ list ]), found 'web'; "
              "strings must be quoted, e.g. \"web\"");
    EXPECT_EQ(parse_err("", { "memory" }), "<command line>:1:7: error: expected '=' or '+=' after 'memory', found end of input");
    EXPECT_EQ(parse_err("", { "a=1\nb=2" }), "<command line>:1:4: error: an override must be a single line");
}

TEST(Parser, SyntaxErrorsSayWhereAndWhatWasExpected)
{
    EXPECT_EQ(parse_err("name = \"h0\nmemory=1\n"), "t.cfg:1:8: error: unterminated string (missing closing \")");
    EXPECT_EQ(parse_err("memory 512\n"), "t.cfg:1:8: error: expected '=' or '+=' after 'memory', found number 512");
    EXPECT_EQ(parse_err("memory = 09\n"),
              "t.cfg:1:10: error: invalid number '09' (expected decimal, 0-prefixed octal or 0x-prefixed hex)");
    EXPECT_EQ(parse_err("memory = 512 512\n"),
              "t.cfg:1:14: error: expected end of line or ';' after the value of 'memory', found number 512");
    EXPECT_EQ(parse_err("memory = \n512\n"),
              "t.cfg:1:10: error: expected a value (a quoted string, a number or a [ list ]), found end of line");
    EXPECT_EQ(parse_err("= 5\n"), "t.cfg:1:1: error: expected a key at the start of a statement, found '='");
    EXPECT_EQ(parse_err("name @ 5\n"), "t.cfg:1:6: error: unexpected character '@'");
    EXPECT_EQ(parse_err("x + 5\n"), "t.cfg:1:3: error: expected '+=' after '+'");
    EXPECT_EQ(parse_err("pci = [ '01:00.0'\n  '02:00.0' ]\n"),
              "t.cfg:2:3: error: expected ',' or ']' in list, found a string");
    EXPECT_EQ(parse_err("pci = [ '01:00.0',\n"), "t.cfg:1:7: error: list is never closed (missing ']')");
    EXPECT_EQ(parse_err("x = \"a\\qb\"\n"),
              "t.cfg:1:7: error: unknown escape sequence '\\q' (expected one of \\\\ \\' \\\" \\n \\t \\r \\a \\b \\f "
              "\\v \\xHH \\NNN)");
    EXPECT_EQ(parse_err("x = \"a\\x00\"\n"), "t.cfg:1:7: error: NUL character in string");
    EXPECT_EQ(parse_err(std::string("x = 'a\0b'\n", 10)), "t.cfg:1:7: error: NUL character in string");
}

TEST(Parser, ByteOrderMarkIsNamed)
{
    EXPECT_EQ(parse_err("\xEF\xBB\xBFname = 'a'\n"),
              "t.cfg:1:1: error: the file starts with a UTF-8 byte-order mark (bytes EF BB BF); xl.cfg files are plain "
              "text, save it without one");
}

TEST(Parser, ListNestingIsBounded)
{
    std::string ok = "x = " + std::string(kMaxListDepth, '[') + std::string(kMaxListDepth, ']') + "\n";
    parse_ok(ok);
    std::string deep = "x = " + std::string(kMaxListDepth + 1, '[') + std::string(kMaxListDepth + 1, ']') + "\n";
    EXPECT_EQ(parse_err(deep), fmt::format("t.cfg:1:{}: error: lists nested more than {} deep", 5 + kMaxListDepth,
                                           kMaxListDepth));
}

TEST(Parser, WarnsAboutUnknownAndIgnoredKeysWithPositions)
{
    auto cfg = parse_ok("name='a'\nfrobnicate = 1\nvfb = ['vnc=1']\ncmdline='x'\nextra='y'\n");
    ASSERT_EQ(cfg.warnings.size(), 3u);
    EXPECT_EQ(cfg.warnings[0].str(), "t.cfg:2:1: warning: unknown key 'frobnicate' (ignored)");
    EXPECT_EQ(cfg.warnings[1].str(), "t.cfg:3:1: warning: 'vfb' is not supported by xkvm (ignored)");
    EXPECT_EQ(cfg.warnings[2].str(), "t.cfg:5:1: warning: 'extra' is ignored because 'cmdline' is set");
}

TEST(Parser, KeySupportTable)
{
    EXPECT_EQ(key_support("memory"), KeySupport::Handled);
    EXPECT_EQ(key_support("vnuma"), KeySupport::Handled);
    EXPECT_EQ(key_support("vif"), KeySupport::Handled);
    EXPECT_EQ(key_support("disk"), KeySupport::Handled);
    EXPECT_EQ(key_support("vfb"), KeySupport::Ignored);
    EXPECT_EQ(key_support("no_such_key"), std::nullopt);
}

TEST(Parser, ParseFileReadsAndNamesThePath)
{
    char path[] = "/tmp/xkvm_config_test_XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    {
        std::ofstream out(path);
        out << "name = 'f'\nmemory = oops\n";
    }
    auto r = parse_file(path);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().str(), std::string(path) + ":2:10: error: expected a value (a quoted string, a number or a "
                                                   "[ list ]), found 'oops'; strings must be quoted, e.g. \"oops\"");
    {
        std::ofstream out(path);
        out << "name = 'f'\n";
    }
    auto ok = parse_file(path, { "memory=64" });
    ASSERT_TRUE(ok.has_value()) << ok.error().str();
    EXPECT_EQ(ok->find("name")->value.pos.file, path);
    EXPECT_EQ(ok->find("memory")->value.text, "64");
    std::remove(path);

    auto missing = parse_file("/nonexistent/xkvm.cfg");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().line, 0u);
    EXPECT_EQ(missing.error().str(), "/nonexistent/xkvm.cfg: error: cannot open: No such file or directory");
}

TEST(Values, TypedAccessorsFollowXlLeniency)
{
    auto cfg = parse_ok("memory = \"2048\"\nname = 42\npci_seize = 1\nbad = \"12ab\"\nbig = 99999999999999999999\n");
    auto mem = get_uint(*cfg.find("memory"), 1, 4096);
    ASSERT_TRUE(mem.has_value());
    EXPECT_EQ(*mem, 2048u);
    EXPECT_EQ(*get_string(*cfg.find("name")), "42");
    EXPECT_TRUE(*get_bool(*cfg.find("pci_seize")));
    EXPECT_EQ(get_uint(*cfg.find("bad"), 0, 10).error().str(), "t.cfg:4:7: error: 'bad' expects a number, found \"12ab\"");
    EXPECT_EQ(get_uint(*cfg.find("memory"), 1, 1024).error().message, "'memory' must be between 1 and 1024, found 2048");
    EXPECT_EQ(get_uint(*cfg.find("big"), 0, 10).error().message, "'big': number 99999999999999999999 is too large");
    EXPECT_EQ(parse_number("0x"), std::nullopt);
    EXPECT_EQ(parse_number("18446744073709551615"), UINT64_MAX);
    EXPECT_EQ(parse_number("18446744073709551616"), std::nullopt);
    EXPECT_EQ(parse_dec_or_hex("010"), 10u);
}

TEST(Parser, StringsMustBeValidUtf8)
{
    auto cfg = parse_ok("extra = \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7\"\n");
    EXPECT_EQ(value_of(cfg, "extra").text, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7");
    EXPECT_EQ(parse_err("extra = \"ab\x89\x89\"\n"), "t.cfg:1:12: error: string is not valid UTF-8 (byte 0x89)");
    EXPECT_EQ(parse_err("extra = \"a\\xff\"\n"), "t.cfg:1:9: error: string is not valid UTF-8 (byte 0xff)");
    EXPECT_EQ(utf8_error("\xc0\x80"), 0u);         // overlong NUL
    EXPECT_EQ(utf8_error("ok\xed\xa0\x80"), 2u);   // a surrogate
    EXPECT_EQ(utf8_error("\xf4\x90\x80\x80"), 0u); // past U+10FFFF
    EXPECT_EQ(utf8_error("\xe2\x82"), 0u);         // truncated
    EXPECT_EQ(utf8_error("plain ascii"), std::nullopt);
}
