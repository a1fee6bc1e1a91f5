// The Tree text: what the Python binding prints, frontends parse.
#include <asp/tree.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

namespace {

using namespace asp::tree;
using testing::HasSubstr;

const char* sample =
    "asp-ir 1 tree\n"
    "(Specialize function=(FunctionDef @3:4 name=\"kernel\" body=[(Assign @4:8 value=(BinOp left=(Constant value=1.5) "
    "op=(Add) right=(Constant value=-2))) (Pass @5:8)] returns=none)\n"
    " constants=[(Constant name=\"c\" value=0.10000000000000001) (Constant name=\"s\" value=\"a\\\"b\\\\\\x01\") "
    "(Constant name=\"nd\" value=[[[0 0]] [[-1 0] [1 0]]]) (Constant name=\"t\" value=true)])\n";

TEST(Tree, ParsesNodesFieldsListsAndEveryAtom) {
  const Value root = parse(sample);
  const Node* s = root.node();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, "Specialize");
  const Node* f = s->field("function")->node();
  EXPECT_EQ(f->kind, "FunctionDef");
  EXPECT_EQ(f->line, 3u);
  EXPECT_EQ(f->column, 4u);
  EXPECT_EQ(*f->field("name")->string(), "kernel");
  EXPECT_TRUE(f->field("returns")->is_none());
  EXPECT_FALSE(f->field("decorator_list"));
  const List& body = *f->field("body")->list();
  ASSERT_EQ(body.size(), 2u);
  const Node* binop = body[0].node()->field("value")->node();
  EXPECT_EQ(*binop->field("left")->node()->field("value")->real(), 1.5);
  EXPECT_EQ(*binop->field("right")->node()->field("value")->integer(), -2);
  EXPECT_EQ(binop->field("op")->node()->kind, "Add");
  const List& constants = *s->field("constants")->list();
  EXPECT_EQ(*constants[0].node()->field("value")->real(), 0.1);
  EXPECT_EQ(*constants[1].node()->field("value")->string(), std::string("a\"b\\\x01"));
  const List& nd = *constants[2].node()->field("value")->list();
  EXPECT_EQ(*(*(*nd[1].list())[0].list())[0].integer(), -1);
  EXPECT_TRUE(*constants[3].node()->field("value")->boolean());
}

TEST(Tree, PrintingRoundTrips) {
  const Value root = parse(sample);
  const std::string once = print(root);
  EXPECT_EQ(print(parse(once)), once);
  for (double d : {0.1, -0.0, 1e300, 5e-324, 3.0, std::nan(""), -HUGE_VAL}) {
    const std::string text = print(Value{d});
    const double back = *parse(text).real();
    if (std::isnan(d)) {
      EXPECT_TRUE(std::isnan(back));
    } else {
      EXPECT_EQ(std::memcmp(&d, &back, sizeof d), 0) << text;
    }
  }
}

TEST(Tree, MalformedTextIsAnErrorWithItsOffset) {
  for (const char* bad : {"asp-ir 1 tree\n(Name id=\"x\"", "asp-ir 1 tree\n[1 2", "asp-ir 1 tree\n\"abc",
                          "asp-ir 1 tree\n99999999999999999999", "asp-ir 1 tree\n(Name id)", "asp-ir 1 tree\n1 2",
                          "asp-ir 1 psir\n1", "asp-ir 1 tree\n1.5.5", "asp-ir 1 tree\n\"\\q\""}) {
    EXPECT_THROW(parse(bad), ParseError) << bad;
  }
  try {
    parse("asp-ir 1 tree\n(Name id=\"x\"");
    ADD_FAILURE();
  } catch (const ParseError& e) {
    EXPECT_STREQ(e.what(), "tree text, 2:1: unclosed node Name");
    EXPECT_EQ(e.offset(), 14u);
  }
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"asp-ir 1 tree\n[1\n  $]", "tree text, 3:3: unexpected character '$'"},
      {"asp-ir 1 tree\n(Name @3 id=1)", "tree text, 2:10: expected ':', found 'id'"},
      {"asp-ir 1 tree\n(Name x=1 2)", "tree text, 2:11: expected a field name or ')', found '2'"},
      {"asp-ir 1 tree\n[1 1e999]", "tree text, 2:4: malformed float '1e999'"},
      {"asp-ir 1 tree\n[\"a\\q\"]", "tree text, 2:4: unknown escape \\q"},
      {"asp-ir 2 tree\n1", "tree text, 1:1: Tree version 2 is not read here"},
  };
  for (const auto& [text, message] : cases) {
    EXPECT_THAT([&] { parse(text); }, testing::ThrowsMessage<ParseError>(testing::StrEq(message))) << text;
  }
}

}  // namespace
