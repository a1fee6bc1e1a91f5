// The frontend kit (asp/frontend_kit.hpp): NumPy 2's promotion with NEP 50's
// weak Python scalars against a table NumPy itself printed, located errors,
// the visitor's default, the Tree accessors and Python's operator table.
#include <asp/frontend_kit.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <sstream>
#include <string>

namespace {

namespace kit = asp::frontend_kit;
using kit::Scalar;
using testing::ElementsAre;
using testing::HasSubstr;

constexpr std::array<Scalar, 14> all = {Scalar::py_bool, Scalar::py_int,  Scalar::py_float, Scalar::bool_,  Scalar::int8,
                                        Scalar::int16,   Scalar::int32,   Scalar::int64,    Scalar::uint8,  Scalar::uint16,
                                        Scalar::uint32,  Scalar::uint64,  Scalar::float32,  Scalar::float64};

std::string row_name(Scalar s) {
  switch (s) {
    case Scalar::py_bool: return "py_bool";
    case Scalar::py_int: return "py_int";
    case Scalar::py_float: return "py_float";
    case Scalar::bool_: return "bool_";
    default: return std::string(kit::name(s));
  }
}

// The type of `a + b` for a and b of each kind, printed by NumPy 2.4 with
// Python's True, 1 and 1.5 as the weak operands and numpy.<type>(1) as the
// strong ones (type(a + b), or (a + b).dtype), in the order of `all`.
constexpr const char* numpy_sums =
    "py_int py_int py_float bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64\n"
    "py_int py_int py_float int64 int8 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64\n"
    "py_float py_float py_float float64 float64 float64 float64 float64 float64 float64 float64 float64 float32 float64\n"
    "bool_ int64 float64 bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64\n"
    "int8 int8 float64 int8 int8 int16 int32 int64 int16 int32 int64 float64 float32 float64\n"
    "int16 int16 float64 int16 int16 int16 int32 int64 int16 int32 int64 float64 float32 float64\n"
    "int32 int32 float64 int32 int32 int32 int32 int64 int32 int32 int64 float64 float64 float64\n"
    "int64 int64 float64 int64 int64 int64 int64 int64 int64 int64 int64 float64 float64 float64\n"
    "uint8 uint8 float64 uint8 int16 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64\n"
    "uint16 uint16 float64 uint16 int32 int32 int32 int64 uint16 uint16 uint32 uint64 float32 float64\n"
    "uint32 uint32 float64 uint32 int64 int64 int64 int64 uint32 uint32 uint32 uint64 float64 float64\n"
    "uint64 uint64 float64 uint64 float64 float64 float64 float64 uint64 uint64 uint64 uint64 float64 float64\n"
    "float32 float32 float32 float32 float32 float32 float64 float64 float32 float32 float64 float64 float32 float64\n"
    "float64 float64 float64 float64 float64 float64 float64 float64 float64 float64 float64 float64 float64 float64\n";

TEST(FrontendKitNumeric, PromotionIsNumPy2sWithWeakPythonScalars) {
  std::istringstream table(numpy_sums);
  for (Scalar a : all) {
    for (Scalar b : all) {
      std::string expected;
      table >> expected;
      EXPECT_EQ(row_name(kit::promote(a, b)), expected) << row_name(a) << " + " << row_name(b);
    }
  }
}

TEST(FrontendKitNumeric, Nep50WeakScalarsTakeTheNumPyType) {
  EXPECT_TRUE(kit::is_weak(Scalar::py_int) && kit::is_weak(Scalar::py_float) && kit::is_weak(Scalar::py_bool));
  EXPECT_FALSE(kit::is_weak(Scalar::float32) || kit::is_weak(Scalar::bool_));
  EXPECT_EQ(kit::promote(Scalar::float32, Scalar::py_float), Scalar::float32);  // not float64: the 1.5 is weak
  EXPECT_EQ(kit::promote(Scalar::py_int, Scalar::uint8), Scalar::uint8);
  EXPECT_EQ(kit::promote(Scalar::int32, Scalar::py_float), Scalar::float64);    // a Python float with a NumPy integer
  EXPECT_EQ(kit::promote(Scalar::bool_, Scalar::py_int), Scalar::int64);        // NumPy 2's default integer
  EXPECT_EQ(kit::promote(Scalar::int32, Scalar::int64), Scalar::int64);         // strong: by the table, not the values
}

TEST(FrontendKitNumeric, TrueDivisionAndMerging) {
  // NumPy 2.4: type(True / True), type(1 / 1), numpy.<t>(1) / numpy.<t>(1).
  EXPECT_EQ(kit::true_divide(kit::promote(Scalar::py_bool, Scalar::py_bool)), Scalar::py_float);
  EXPECT_EQ(kit::true_divide(Scalar::py_int), Scalar::py_float);
  EXPECT_EQ(kit::true_divide(Scalar::bool_), Scalar::float64);
  EXPECT_EQ(kit::true_divide(Scalar::int8), Scalar::float64);
  EXPECT_EQ(kit::true_divide(Scalar::uint64), Scalar::float64);
  EXPECT_EQ(kit::true_divide(Scalar::float32), Scalar::float32);
  EXPECT_EQ(kit::computes_alike(Scalar::py_float, Scalar::float64), Scalar::float64);
  EXPECT_EQ(kit::computes_alike(Scalar::int32, Scalar::int32), Scalar::int32);
  EXPECT_FALSE(kit::computes_alike(Scalar::py_int, Scalar::int64));  // Python's int does not wrap
  EXPECT_FALSE(kit::computes_alike(Scalar::float32, Scalar::float64));
}

TEST(FrontendKitNumeric, DTypesByNameAndByDLPack) {
  EXPECT_EQ(kit::numpy_dtype("float32"), Scalar::float32);
  EXPECT_EQ(kit::numpy_dtype("bool"), Scalar::bool_);
  EXPECT_EQ(kit::numpy_dtype("uint16"), Scalar::uint16);
  EXPECT_FALSE(kit::numpy_dtype("float16"));
  EXPECT_FALSE(kit::numpy_dtype("complex128"));
  EXPECT_EQ(kit::numpy_dtype(DLDataType{kDLFloat, 64, 1}), Scalar::float64);
  EXPECT_EQ(kit::numpy_dtype(DLDataType{kDLUInt, 32, 1}), Scalar::uint32);
  EXPECT_EQ(kit::numpy_dtype(DLDataType{kit::dlpack_bool, 8, 1}), Scalar::bool_);
  EXPECT_FALSE(kit::numpy_dtype(DLDataType{kDLFloat, 16, 1}));
  EXPECT_FALSE(kit::numpy_dtype(DLDataType{kDLFloat, 32, 4}));  // lanes
}

// A domain with its own types: promotion goes through the kit's table.
enum class Mine { i, f, d };

TEST(FrontendKitNumeric, ADomainPromotesItsOwnTypesThroughATypeMap) {
  constexpr kit::TypeMap<Mine, 3> map{{{{Mine::i, Scalar::py_int}, {Mine::f, Scalar::float32}, {Mine::d, Scalar::float64}}}};
  EXPECT_EQ(map.promote(Mine::i, Mine::f), Mine::f);
  EXPECT_EQ(map.promote(Mine::f, Mine::d), Mine::d);
  EXPECT_EQ(map.type(Scalar::float32), Mine::f);
  EXPECT_FALSE(map.type(Scalar::int8));
  // 1 / 1 is a Python float, which this domain does not have: the domain's table is incomplete.
  EXPECT_THROW(map.true_divide(Mine::i), std::logic_error);
}

// ---- Tree access and located errors ----

asp::tree::Value tree_of(const std::string& body) { return kit::parse("asp-ir 1 tree\n" + body); }

TEST(FrontendKitTree, UnsupportedErrorsSayWhere) {
  const asp::tree::Value v = tree_of("(While @4:8 test=(Constant @4:14 value=true) body=[] orelse=[])");
  try {
    kit::unsupported(*v.node(), "'while' loops are not supported");
    ADD_FAILURE();
  } catch (const asp::Error& e) {
    EXPECT_EQ(e.status(), ASP_ERR_UNSUPPORTED);
    EXPECT_STREQ(e.what(), "'while' loops are not supported at line 4");
    ASSERT_TRUE(e.where());
    EXPECT_EQ(e.where()->line, 4u);
    EXPECT_EQ(e.where()->column, 9u);  // 1-based, from Python's 0-based 8
  }
  const asp::tree::Value unplaced = tree_of("(Pass)");
  try {
    kit::invalid(*unplaced.node(), "out of range");
    ADD_FAILURE();
  } catch (const asp::Error& e) {
    EXPECT_EQ(e.status(), ASP_ERR_INVALID_ARGUMENT);
    EXPECT_STREQ(e.what(), "out of range");
    ASSERT_TRUE(e.where());
    EXPECT_EQ(e.where()->line, 0u);
    EXPECT_EQ(e.where()->column, 0u);
  }
}

TEST(FrontendKitTree, AccessorsReadFieldsAndCallAMissingOneMalformed) {
  const asp::tree::Value v = tree_of(
      "(Assign @2:4 targets=[(Name @2:4 id=\"x\")] value=(Call func=(Attribute value=(Name id=\"math\") attr=\"sqrt\") "
      "args=[] keywords=[]))");
  const kit::Node& assign = *v.node();
  EXPECT_EQ(kit::text(kit::item(kit::items(assign, "targets").at(0)), "id"), "x");
  EXPECT_EQ(kit::source(kit::child(assign, "value")), "math.sqrt(...)");
  EXPECT_TRUE(kit::empty_list(kit::child(assign, "value"), "keywords"));
  EXPECT_TRUE(kit::empty_list(assign, "absent"));
  auto malformed = [](auto&& read, const std::string& message) {
    try {
      read();
      ADD_FAILURE() << message;
    } catch (const asp::Error& e) {
      EXPECT_EQ(e.status(), ASP_ERR_INVALID_ARGUMENT);
      EXPECT_EQ(std::string(e.what()), "malformed tree: " + message);
    }
  };
  malformed([&] { kit::field(assign, "type_comment"); }, "Assign has no field 'type_comment'");
  malformed([&] { kit::child(assign, "targets"); }, "field 'targets' of Assign is not a node");
  malformed([&] { kit::items(assign, "value"); }, "field 'value' of Assign is not a list");
  malformed([&] { kit::text(assign, "targets"); }, "field 'targets' of Assign is not a string");
  try {
    kit::parse("asp-ir 1 tree\n(Name id=");
    ADD_FAILURE();
  } catch (const asp::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("malformed tree: tree text, 2:10: expected a value"));
  }
}

TEST(FrontendKitTree, AssignedNamesAreTheFunctionsLocals) {
  const asp::tree::Value v = tree_of(
      "[(Assign targets=[(Name id=\"a\") (Subscript value=(Name id=\"g\") slice=(Name id=\"x\"))] value=(Constant value=1))"
      " (For target=(Name id=\"p\") iter=(Name id=\"r\") body=[(AugAssign target=(Name id=\"s\") op=(Add) value=(Constant value=1))]"
      " orelse=[(AnnAssign target=(Name id=\"t\") annotation=(Name id=\"int\") value=none simple=1)])"
      " (If test=(Name id=\"c\") body=[] orelse=[(Assign targets=[(Name id=\"u\")] value=(Constant value=2))])]");
  EXPECT_THAT(kit::assigned_names(*v.list()), ElementsAre("a", "p", "s", "t", "u"));
}

// ---- the visitor ----

TEST(FrontendKitVisitor, DispatchesOnTheKindAndRefusesTheOthersNamingThem) {
  kit::Visitor<int, int&> statements(kit::Construct::statement);
  statements.on("Pass", [](const kit::Node&, int& seen) { return ++seen; });
  statements.on({"Assign", "AugAssign"}, [](const kit::Node& n, int&) { return static_cast<int>(n.line); });
  int seen = 0;
  EXPECT_EQ(statements(*tree_of("(Pass)").node(), seen), 1);
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(statements(*tree_of("(AugAssign @7:0)").node(), seen), 7);
  EXPECT_TRUE(statements.handles("Assign"));
  EXPECT_FALSE(statements.handles("While"));
  auto refused = [&](const kit::Visitor<int, int&>& v, const std::string& node, const std::string& message) {
    try {
      v(*tree_of(node).node(), seen);
      ADD_FAILURE() << node;
    } catch (const asp::Error& e) {
      EXPECT_EQ(e.status(), ASP_ERR_UNSUPPORTED) << node;
      EXPECT_EQ(std::string(e.what()), message);
      ASSERT_TRUE(e.where());
      EXPECT_EQ(e.where()->line, 3u);
    }
  };
  refused(statements, "(While @3:4)", "'while' loops are not supported at line 3");
  refused(statements, "(ImportFrom @3:4)", "'import' is not supported at line 3");
  refused(statements, "(Print @3:0)", "'Print' statements are not supported at line 3");

  kit::Visitor<int, int&> expressions(kit::Construct::expression);
  refused(expressions, "(Lambda @3:1)", "lambda is not supported at line 3");
  refused(expressions, "(DictComp @3:1)", "comprehensions are not supported at line 3");
  refused(expressions, "(Await @3:1)", "'Await' expressions are not supported at line 3");
  expressions.otherwise([](const kit::Node&, int&) { return -1; });
  EXPECT_EQ(expressions(*tree_of("(Await @3:1)").node(), seen), -1);
}

TEST(FrontendKitOperators, EveryPythonOperatorIsDescribedOnce) {
  const kit::OperatorInfo* add = kit::python_operator("Add");
  ASSERT_TRUE(add);
  EXPECT_EQ(add->op, kit::Operator::add);
  EXPECT_EQ(add->symbol, "+");
  EXPECT_EQ(add->family, kit::OperatorFamily::arithmetic);
  EXPECT_EQ(kit::python_operator("LtE")->family, kit::OperatorFamily::comparison);
  EXPECT_EQ(kit::python_operator("IsNot")->symbol, "is not");
  EXPECT_EQ(kit::python_operator("USub")->family, kit::OperatorFamily::unary);
  EXPECT_FALSE(kit::python_operator("Name"));
  EXPECT_EQ(kit::operator_symbol("MatMult"), "@");
  EXPECT_EQ(kit::operator_symbol("Walrus"), "Walrus");
  for (const kit::OperatorInfo& o : kit::python_operators) {
    EXPECT_EQ(&kit::describe(o.op), &o) << o.ast;
    EXPECT_EQ(kit::python_operator(o.ast), &o) << o.ast;
  }
}

}  // namespace
