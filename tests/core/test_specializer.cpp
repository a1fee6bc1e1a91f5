// The specialization pipeline end to end through the test domain "scale"
// (tests/plugins/scale_plugin.cpp): frontend, optimizer, lowering, backend
// selection and fall-through, the errors each step reports, argument binding
// on the per-call path, and the process runtime.
#include "asp/core/platform.hpp"
#include "asp/core/runtime.hpp"
#include "asp/core/specializer.hpp"

#include "support.hpp"

#include <asp/psir_text.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

namespace {

using namespace asp::core;
using testing::HasSubstr;

// ---- building the inputs a binding would send ---------------------------------

// A Tree for `def scale(...): <statement>`, the statement given as Tree text at line 4.
std::string tree_of(const std::string& statement, const std::string& constants = "") {
  return "asp-ir 1 tree\n(Specialize function=(FunctionDef @3:0 name=\"scale\" args=(arguments args=[]) body=[" +
         statement + "] decorator_list=[]) constants=[" + constants + "])\n";
}
std::string name(const std::string& id, int col) {
  return "(Name @4:" + std::to_string(col) + " id=\"" + id + "\" ctx=(Load))";
}
std::string element(const std::string& array, int col, const std::string& index = "") {
  return "(Subscript @4:" + std::to_string(col) + " value=" + name(array, col) +
         " slice=" + (index.empty() ? name("i", col + 2) : index) + " ctx=(Load))";
}
std::string binop(const std::string& left, const std::string& op, const std::string& right) {
  return "(BinOp @4:10 left=" + left + " op=(" + op + ") right=" + right + ")";
}
std::string assign(const std::string& value) {
  return "(Assign @4:4 targets=[(Subscript @4:4 value=" + name("out", 4) + " slice=" + name("i", 8) +
         " ctx=(Store))] value=" + value + ")";
}
// out[i] = a[i] * c
const std::string scale_tree = tree_of(assign(binop(element("a", 11), "Mult", name("c", 18))));

DLDataType f64{kDLFloat, 64, 1};
DLDataType f32{kDLFloat, 32, 1};
DLDataType i32{kDLInt, 32, 1};
DLDataType i64{kDLInt, 64, 1};

// An array argument that owns its data, shape and strides.
struct Array {
  Array(std::string name, DLDataType type, std::vector<std::int64_t> shape_, std::vector<std::int64_t> strides_ = {})
      : name_(std::move(name)), shape(std::move(shape_)), strides(std::move(strides_)) {
    std::size_t n = 1;
    for (std::size_t d = 0; d < shape.size(); ++d) {
      n = strides.empty() ? n * static_cast<std::size_t>(shape[d]) : n + static_cast<std::size_t>(strides[d] * (shape[d] - 1));
    }
    bytes.assign(n * type.bits / 8, 0);
    arg.struct_size = sizeof arg;
    arg.kind = ASP_ARG_TENSOR;
    arg.tensor.data = bytes.data();
    arg.tensor.device = {kDLCPU, 0};
    arg.tensor.dtype = type;
    refresh();
  }
  Array(const Array&) = delete;
  Array& operator=(const Array&) = delete;
  // Points the descriptor at the current shape and strides (after a change or a copy).
  asp_arg& refresh() {
    arg.name = name_.c_str();
    arg.tensor.data = bytes.data();
    arg.tensor.ndim = static_cast<int>(shape.size());
    arg.tensor.shape = shape.data();
    arg.tensor.strides = strides.empty() ? nullptr : strides.data();
    return arg;
  }
  template <class T>
  T* as() {
    return reinterpret_cast<T*>(bytes.data());
  }
  std::string name_;
  std::vector<std::int64_t> shape, strides;
  std::vector<unsigned char> bytes;
  asp_arg arg{};
};

asp_arg scalar(const char* name, double value) {
  asp_arg a{};
  a.struct_size = sizeof a;
  a.name = name;
  a.kind = ASP_ARG_SCALAR;
  a.scalar_type = f64;
  a.scalar.f = value;
  return a;
}
asp_arg integer(const char* name, std::int64_t value) {
  asp_arg a = scalar(name, 0);
  a.scalar_type = i64;
  a.scalar.i = value;
  return a;
}

// ---- fixtures ------------------------------------------------------------------

// The shipped backends plus the scale plugin, and `extra` as one more layer.
std::unique_ptr<Registry> registry_with(const asp::test::TempDir& dir, const std::string& extra = "") {
  auto scale = dir.write("scale.yaml", "plugins:\n  scale:\n    path: " + asp::test::test_plugin("scale_plugin") + "\n");
  auto more = dir.write("extra.yaml", extra);
  Diagnostics diagnostics;
  auto registry =
      Registry::load(asp::test::load_files({ASP_TEST_DEFAULT_CONFIG, scale, more}, diagnostics), diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << asp::test::only_message(diagnostics);
  return registry;
}

class SpecializerTest : public testing::Test {
 protected:
  Specializer::Result specialize(const std::string& tree, const std::vector<asp_arg>& args,
                                 const std::string& domain = "scale") {
    return Specializer(*registry_, nullptr, nullptr).specialize(domain, tree, args);
  }
  asp::test::TempDir dir_;
  std::unique_ptr<Registry> registry_ = registry_with(dir_);
};

// The exception of type E that `f` throws; any other outcome fails the test.
template <class E, class F>
E thrown(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e;
  }
  throw std::logic_error("the expected exception was not thrown");
}

// ---- the pipeline ---------------------------------------------------------------

TEST_F(SpecializerTest, ScalesAGridLikeCxxThroughEveryStep) {
  Array a("a", f64, {8, 9}), out("out", f64, {8, 9});
  for (int k = 0; k < 72; ++k) a.as<double>()[k] = 0.1 * k - 3;
  const auto result = specialize(scale_tree, {out.arg, a.arg, scalar("c", 2.5)});
  EXPECT_EQ(result.backend, "openmp");  // the available backend of highest priority
  EXPECT_THAT(result.dsir, HasSubstr("asp-ir 1 dsir.scale\n"));
  EXPECT_THAT(result.psir, HasSubstr("func scale(out: buffer f64[n0, n1], a: buffer f64[n0, n1], c: f64"));
  ASSERT_EQ(result.kernel->variants().size(), 2u);

  Callable call(result.kernel, result.binding);
  const asp_arg values[] = {out.arg, a.arg, scalar("c", 2.5)};
  std::vector<std::size_t> ran;
  for (int i = 0; i < 3; ++i) {
    std::fill(out.bytes.begin(), out.bytes.end(), 0);
    ran.push_back(call(values, 3));
    for (int k = 0; k < 72; ++k) ASSERT_EQ(out.as<double>()[k], a.as<double>()[k] * 2.5) << k;
  }
  EXPECT_EQ(ran[0], 0u);  // the tuner tries the variants round robin before it keeps one
  EXPECT_EQ(ran[1], 1u);
}

TEST_F(SpecializerTest, OnceEveryVariantIsMeasuredCallsRecordNothing) {
  TuningDatabase db(dir_.path() / "tuning.sqlite");
  Array a("a", f64, {8, 8}), out("out", f64, {8, 8});
  const auto result = Specializer(*registry_, nullptr, &db).specialize("scale", scale_tree, {out.arg, a.arg, scalar("c", 2)});
  Callable call(result.kernel, result.binding);
  const asp_arg values[] = {out.arg, a.arg, scalar("c", 2)};
  for (int i = 0; i < 10; ++i) call(values, 3);
  const auto stats = db.stats({result.kernel->key(), result.binding.signature(values), tuning_platform()});
  ASSERT_EQ(stats.size(), 2u);
  for (const auto& [variant, s] : stats) EXPECT_EQ(s.runs, Tuner::runs_to_settle) << variant;
}

// A specialization builds the variant the first call runs; once the tuning
// record has settled, a new specialization (a warm start) builds that one only.
TEST_F(SpecializerTest, AWarmStartBuildsOnlyTheVariantItRuns) {
  TuningDatabase db(dir_.path() / "tuning.sqlite");
  Array a("a", f64, {8, 8}), out("out", f64, {8, 8});
  const asp_arg values[] = {out.arg, a.arg, scalar("c", 2)};
  {
    const auto result = Specializer(*registry_, nullptr, &db).specialize("scale", scale_tree, {out.arg, a.arg, scalar("c", 2)});
    ASSERT_EQ(result.kernel->variants().size(), 2u);
    EXPECT_TRUE(result.kernel->built(0));  // the tuner tries variant 0 first
    Callable call(result.kernel, result.binding);
    for (int i = 0; i < 2 * Tuner::runs_to_settle; ++i) call(values, 3);  // the other is built when chosen, if not before
    EXPECT_TRUE(result.kernel->built(1));
  }
  const auto result = Specializer(*registry_, nullptr, &db).specialize("scale", scale_tree, {out.arg, a.arg, scalar("c", 2)});
  const auto stats = db.stats({result.kernel->key(), result.binding.signature(values), tuning_platform()});
  const auto& names = result.kernel->variants();
  const std::size_t best = stats.at(names[0].function.name).best <= stats.at(names[1].function.name).best ? 0 : 1;
  EXPECT_TRUE(result.kernel->built(best));
  EXPECT_FALSE(result.kernel->built(1 - best));
  Callable call(result.kernel, result.binding);
  EXPECT_EQ(call(values, 3), best);
  EXPECT_FALSE(result.kernel->built(1 - best));
}

TEST_F(SpecializerTest, TheDomainOptimizerRuns) {
  Array a("a", f64, {4}), out("out", f64, {4});
  const auto times_one = binop(binop(element("a", 11), "Mult", "(Constant @4:18 value=1.0)"), "Mult", name("c", 24));
  const auto result = specialize(tree_of(assign(times_one)), {out.arg, a.arg, scalar("c", 2)});
  EXPECT_THAT(result.dsir, HasSubstr("first load a\nmul arg c\n"));
  EXPECT_THAT(result.dsir, testing::Not(HasSubstr("const 1")));
}

TEST_F(SpecializerTest, ConstantsFromTheTreeAreFoldedIn) {
  Array a("a", f64, {4}), out("out", f64, {4});
  const auto result = specialize(tree_of(assign(binop(element("a", 11), "Mult", name("k", 18))),
                                         "(Constant name=\"k\" value=0.5)"),
                                 {out.arg, a.arg});
  EXPECT_THAT(result.dsir, HasSubstr("mul const 0.5"));
}

TEST_F(SpecializerTest, AnUnsupportedConstructIsReportedWithItsPlace) {
  Array out("out", f64, {4});
  const auto e = thrown<Unsupported>([&] { specialize(tree_of("(While @7:4 test=(Constant value=true) body=[])"), {out.arg}); });
  EXPECT_EQ(std::string(e.what()), "the scale domain does not support While");
  EXPECT_EQ(e.where().line, 7u);
  EXPECT_EQ(e.where().column, 5u);  // 1-based, as plugins report columns
  const auto op = thrown<Unsupported>([&] { specialize(tree_of(assign(binop(element("a", 11), "Add", name("c", 18)))), {out.arg}); });
  EXPECT_THAT(op.what(), HasSubstr("multiplies and divides only, not Add"));
}

TEST_F(SpecializerTest, ArgumentsAComponentRejectsAreInvalidArguments) {
  Array a("a", f32, {4}), out("out", f64, {4});
  const auto e = thrown<InvalidArgument>([&] { specialize(scale_tree, {out.arg, a.arg, scalar("c", 2)}); });
  EXPECT_EQ(std::string(e.what()), "line 4, column 12: argument 'a' must have the dtype of 'out'");
}

TEST_F(SpecializerTest, ADomainWithoutAFrontendIsUnsupported) {
  const auto e = thrown<Unsupported>([&] { specialize(scale_tree, {}, "nosuch"); });
  EXPECT_EQ(std::string(e.what()), "no frontend for domain nosuch; is its plugin configured? see `asp info`");
  EXPECT_EQ(e.where().line, 0u);
}

TEST_F(SpecializerTest, ArgumentsWhoseExtentsDisagreeAreRejectedBeforeCompiling) {
  Array a("a", f64, {8, 9}), out("out", f64, {8, 10});
  const auto e = thrown<InvalidArgument>([&] { specialize(scale_tree, {out.arg, a.arg, scalar("c", 2)}); });
  EXPECT_EQ(std::string(e.what()),
            "argument 'a' has 9 along axis 1 but argument 'out' has 10 along axis 1; the kernel needs them equal "
            "(extent n1)");
}

TEST(SpecializerBackends, ABackendThatDoesNotCompileFallsThroughToTheNext) {
  asp::test::TempDir dir;
  // openmp (priority 50) runs a compiler that rejects a flag; the test backend
  // (priority 200, from good_plugin) emits no code; pthreads (40) works.
  auto registry = registry_with(dir, "backends:\n  openmp:\n    jit: system\n    flags: [-shared, -fPIC, -fno-such-flag]\n"
                                     "  testbackend:\n    path: " + asp::test::test_plugin("good_plugin") +
                                     "\n    priority: 200\n    compiler: cc\n");
  Array a("a", f64, {5}), out("out", f64, {5});
  const auto result = Specializer(*registry, nullptr, nullptr).specialize("scale", scale_tree, {out.arg, a.arg, scalar("c", 3)});
  EXPECT_EQ(result.backend, "pthreads");
  for (int k = 0; k < 5; ++k) a.as<double>()[k] = k;
  Callable call(result.kernel, result.binding);
  const asp_arg values[] = {out.arg, a.arg, scalar("c", 3)};
  call(values, 3);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(out.as<double>()[k], 3.0 * k) << k;
}

TEST(SpecializerBackends, WhenNoBackendCompilesTheLastCompileErrorIsThrown) {
  asp::test::TempDir dir;
  auto registry = registry_with(dir, "backend: openmp\nbackends:\n  openmp:\n    jit: system\n"
                                     "    flags: [-shared, -fPIC, -fno-such-flag]\n");
  Array a("a", f64, {5}), out("out", f64, {5});
  try {
    Specializer(*registry, nullptr, nullptr).specialize("scale", scale_tree, {out.arg, a.arg, scalar("c", 3)});
    FAIL() << "compiled with a bad flag";
  } catch (const CompileError& e) {
    EXPECT_THAT(e.log(), HasSubstr("no-such-flag"));
  }
}

TEST(SpecializerBackends, NoUsableBackendSaysWhy) {
  asp::test::TempDir dir;
  auto registry = registry_with(dir, "backends:\n  openmp:\n    enabled: false\n  pthreads:\n    enabled: false\n"
                                     "  opencl:\n    enabled: false\n  cuda:\n    enabled: false\n");
  Array a("a", f64, {5}), out("out", f64, {5});
  // Unsupported: the caller runs its Python function, with this reason.
  const auto e = thrown<Unsupported>(
      [&] { Specializer(*registry, nullptr, nullptr).specialize("scale", scale_tree, {out.arg, a.arg, scalar("c", 3)}); });
  EXPECT_THAT(e.what(), HasSubstr("no backend can run kernel scale: no backend is available"));
  EXPECT_EQ(e.where().line, 0u);
}

TEST(SpecializerBackends, AnUnavailableForcedBackendIsUnsupportedWithTheRegistrysReason) {
  asp::test::TempDir dir;
  auto registry = registry_with(dir, "backend: pthreads\nbackends:\n  pthreads:\n    enabled: false\n");
  Array a("a", f64, {5}), out("out", f64, {5});
  const auto e = thrown<Unsupported>(
      [&] { Specializer(*registry, nullptr, nullptr).specialize("scale", scale_tree, {out.arg, a.arg, scalar("c", 3)}); });
  EXPECT_THAT(e.what(), HasSubstr("no backend can run kernel scale: backend 'pthreads'"));
  EXPECT_THAT(e.what(), HasSubstr("is unavailable: disabled in config"));
}

TEST(SpecializerDump, AspDumpKeepsEachSpecializationInADirectoryOfItsOwn) {
  asp::test::TempDir dir;
  const auto where = dir.path() / "dump";
  auto registry = registry_with(dir, "dump: " + where.string() + "\n");
  auto read = [](const std::filesystem::path& file) {
    std::stringstream text;
    text << std::ifstream(file).rdbuf();
    return text.str();
  };
  auto directories = [&] {
    std::vector<std::filesystem::path> found;
    for (const auto& e : std::filesystem::directory_iterator(where)) {
      if (e.is_directory()) found.push_back(e.path());
    }
    std::sort(found.begin(), found.end());
    return found;
  };
  Array a("a", f64, {5}), out("out", f64, {5});
  const auto result = Specializer(*registry, nullptr, nullptr).specialize("scale", scale_tree, {out.arg, a.arg, scalar("c", 3)});
  ASSERT_EQ(directories().size(), 1u);
  const auto first = directories().front();
  EXPECT_THAT(first.filename().string(), testing::StartsWith("scale-"));
  EXPECT_EQ(read(first / "01-tree"), scale_tree);
  std::vector<std::string> stages;
  for (const auto& e : std::filesystem::directory_iterator(first)) stages.push_back(e.path().filename().string());
  std::sort(stages.begin(), stages.end());
  EXPECT_THAT(stages, testing::Contains(testing::MatchesRegex("02-.*\\.dsir")));
  EXPECT_THAT(stages, testing::Contains(testing::MatchesRegex("[0-9][0-9]-.*\\.psir")));
  EXPECT_THAT(stages, testing::Contains(testing::EndsWith("." + result.backend + ".c")));
  EXPECT_EQ(read(first / stages[1]), result.dsir);

  // Other arguments: another directory, the first one untouched; the index lists both.
  Array b("a", f64, {7}), out7("out", f64, {7});
  Specializer(*registry, nullptr, nullptr).specialize("scale", scale_tree, {out7.arg, b.arg, scalar("c", 3)});
  EXPECT_EQ(directories().size(), 2u);
  EXPECT_EQ(read(first / "01-tree"), scale_tree);
  const std::string index = read(where / "index.txt");
  for (const auto& d : directories()) EXPECT_THAT(index, HasSubstr(d.filename().string() + "\tscale\t"));
  EXPECT_THAT(index, HasSubstr("[7]"));

  // A failure leaves what it said next to the stages that ran.
  EXPECT_THROW(Specializer(*registry, nullptr, nullptr).specialize("scale", "asp-ir 1 tree\n(Nonsense)", {out.arg, a.arg}),
               std::exception);
  bool recorded = false;
  for (const auto& d : directories()) recorded = recorded || std::filesystem::exists(d / "error.txt");
  EXPECT_TRUE(recorded);
}

TEST(SpecializerDump, ADumpDirectoryThatCannotBeMadeCostsTheDumpNotTheKernel) {
  asp::test::TempDir dir;
  std::ofstream(dir.path() / "a-file") << "not a directory";
  auto registry = registry_with(dir, "dump: " + (dir.path() / "a-file" / "dump").string() + "\n");
  Array a("a", f64, {5}), out("out", f64, {5});
  const auto result = Specializer(*registry, nullptr, nullptr).specialize("scale", scale_tree, {out.arg, a.arg, scalar("c", 3)});
  ASSERT_TRUE(result.kernel);
  Callable call(result.kernel, result.binding);
  for (int k = 0; k < 5; ++k) a.as<double>()[k] = k;
  const asp_arg values[] = {out.arg, a.arg, scalar("c", 3)};
  call(values, 3);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(out.as<double>()[k], 3.0 * k);
}

// ---- calls: faults and binding errors ---------------------------------------------

TEST_F(SpecializerTest, AnIndexOutsideAnArrayIsAFaultNamingIt) {
  Array t("t", f64, {10}), idx("idx", i64, {4}), out("out", f64, {4});
  const auto gather = element("t", 11, "(Subscript @4:13 value=" + name("idx", 13) + " slice=" + name("i", 17) + ")");
  const auto result = specialize(tree_of(assign(binop(gather, "Mult", name("c", 22)))), {out.arg, t.arg, idx.arg, scalar("c", 2)});
  Callable call(result.kernel, result.binding);
  for (int k = 0; k < 10; ++k) t.as<double>()[k] = k;
  std::int64_t* index = idx.as<std::int64_t>();
  index[0] = 9, index[1] = 0, index[2] = 3, index[3] = 1;
  const asp_arg values[] = {out.arg, t.arg, idx.arg, scalar("c", 2)};
  call(values, 4);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(out.as<double>()[k], 2.0 * static_cast<double>(index[k])) << k;
  index[2] = 10;
  const auto fault = thrown<KernelFault>([&] { call(values, 4); });
  EXPECT_EQ(fault.kind(), KernelFault::Kind::out_of_bounds);
  EXPECT_EQ(std::string(fault.what()), "index out of bounds reading 't'");
}

TEST_F(SpecializerTest, DivisionByZeroIsAFault) {
  Array a("a", f64, {3}), out("out", f64, {3});
  const auto result = specialize(tree_of(assign(binop(element("a", 11), "Div", name("c", 18)))), {out.arg, a.arg, scalar("c", 2)});
  Callable call(result.kernel, result.binding);
  const asp_arg values[] = {out.arg, a.arg, scalar("c", 0)};
  const auto fault = thrown<KernelFault>([&] { call(values, 3); });
  EXPECT_EQ(fault.kind(), KernelFault::Kind::zero_division);
  EXPECT_EQ(std::string(fault.what()), "division by zero");
}

class BindingTest : public SpecializerTest {
 protected:
  void SetUp() override {
    result_ = std::make_unique<Specializer::Result>(specialize(scale_tree, {out_.arg, a_.arg, scalar("c", 2)}));
    call_ = std::make_unique<Callable>(result_->kernel, result_->binding);
  }
  // Calls with `out` and `a` as given and c = 2.
  void call_with(Array& out, Array& a) {
    const asp_arg values[] = {out.refresh(), a.refresh(), scalar("c", 2)};
    (*call_)(values, 3);
  }
  Array out_{"out", f64, {4, 6}}, a_{"a", f64, {4, 6}};
  std::unique_ptr<Specializer::Result> result_;
  std::unique_ptr<Callable> call_;
};

TEST_F(BindingTest, AnotherShapeOfTheSameRankRuns) {
  Array out("out", f64, {3, 5}), a("a", f64, {3, 5});
  for (int k = 0; k < 15; ++k) a.as<double>()[k] = 0.5 * k - 2;
  call_with(out, a);
  for (int k = 0; k < 15; ++k) EXPECT_EQ(out.as<double>()[k], 2 * (0.5 * k - 2)) << k;
}

TEST_F(BindingTest, AWrongDtypeIsATypeErrorNamingTheArgument) {
  Array a("a", f32, {4, 6});
  const auto e = thrown<ArgumentTypeError>([&] { call_with(out_, a); });
  EXPECT_EQ(std::string(e.what()), "argument 'a' has dtype float32; the kernel was specialized for float64");
}

TEST_F(BindingTest, AWrongRankIsAValueErrorNamingTheArgument) {
  Array a("a", f64, {24});
  const auto e = thrown<InvalidArgument>([&] { call_with(out_, a); });
  EXPECT_EQ(std::string(e.what()), "argument 'a' has 1 dimensions; the kernel was specialized for 2");
}

TEST_F(BindingTest, ShapesThatDisagreeNameBothArgumentsAndTheAxis) {
  Array a("a", f64, {4, 7});
  const auto e = thrown<InvalidArgument>([&] { call_with(out_, a); });
  EXPECT_EQ(std::string(e.what()),
            "argument 'a' must have the extent of axis 1 equal to the extent of axis 1 of argument 'out' (both are n1), not 7");
}

TEST_F(BindingTest, ANonContiguousArrayIsRejected) {
  Array a("a", f64, {4, 6}, {12, 2});  // every other column of a 4 x 12 array
  const auto e = thrown<InvalidArgument>([&] { call_with(out_, a); });
  EXPECT_THAT(e.what(), HasSubstr("argument 'a' is not C-contiguous"));
  Array same("a", f64, {4, 6}, {6, 1});  // explicit compact strides are fine
  for (int k = 0; k < 24; ++k) same.as<double>()[k] = k + 1;
  call_with(out_, same);
  for (int k = 0; k < 24; ++k) EXPECT_EQ(out_.as<double>()[k], 2.0 * (k + 1)) << k;
}

TEST_F(BindingTest, WrongCountAndKindAreTypeErrors) {
  const asp_arg two[] = {out_.arg, a_.arg};
  EXPECT_EQ(std::string(thrown<ArgumentTypeError>([&] { (*call_)(two, 2); }).what()),
            "the kernel takes 3 arguments (out, a, c), got 2");
  const asp_arg swapped[] = {out_.arg, scalar("a", 1), scalar("c", 2)};
  EXPECT_EQ(std::string(thrown<ArgumentTypeError>([&] { (*call_)(swapped, 3); }).what()),
            "argument 'a' must be an array of float64, got a scalar");
  const asp_arg int_for_float[] = {out_.arg, a_.arg, integer("c", 2)};
  EXPECT_EQ(std::string(thrown<ArgumentTypeError>([&] { (*call_)(int_for_float, 3); }).what()),
            "argument 'c' must be a float, got an int");
}

TEST_F(BindingTest, SeveralThreadsCallAtOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Array out("out", f64, {4 + t, 6}), a("a", f64, {4 + t, 6});
      for (std::size_t k = 0; k < out.bytes.size() / 8; ++k) a.as<double>()[k] = static_cast<double>(k + t);
      for (int i = 0; i < 200; ++i) {
        call_with(out, a);
        for (std::size_t k = 0; k < out.bytes.size() / 8; ++k) wrong += out.as<double>()[k] != 2.0 * static_cast<double>(k + t);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong, 0);
}

// Binding plans from hand-written PSIR: strides and constant extents.
asp::psir::Function function_of(const std::string& signature) {
  return asp::psir::parse("asp-ir 1 psir\nfunc f(" + signature + ") {\n}\n").functions.front();
}

TEST(BindingPlan, StridesAndConstantExtentsAreBoundAndChecked) {
  const auto f = function_of("x: buffer f64[n, 3] strides [s, 1], n: i64, s: i64");
  Array x("x", f64, {5, 3}, {4, 1});
  Binding binding(f, {x.arg});
  Binding::Frame frame;
  binding.bind(&x.arg, 1, frame);
  EXPECT_EQ(*static_cast<std::int64_t*>(frame.entry[1]), 5);
  EXPECT_EQ(*static_cast<std::int64_t*>(frame.entry[2]), 4);
  EXPECT_EQ(frame.extent_count, 2u);
  EXPECT_EQ(binding.signature(&x.arg), "x:float64[5,3;4,1]");
  Array wide("x", f64, {5, 4}, {4, 1});
  EXPECT_EQ(std::string(thrown<InvalidArgument>([&] { binding.bind(&wide.arg, 1, frame); }).what()),
            "argument 'x' must have the extent of axis 1 equal to 3 as at specialization, not 4");
  EXPECT_THROW(Binding(f, {wide.arg}), InvalidArgument);
}

TEST(BindingPlan, ScalarsAreConvertedToTheParameterTypeAndRangeChecked) {
  const auto f = function_of("x: buffer i32[n], k: i32, g: f32, n: i64");
  Array x("x", i32, {2});
  Binding binding(f, {x.arg, integer("k", 7), scalar("g", 0.1)});
  Binding::Frame frame;
  const asp_arg ok[] = {x.arg, integer("k", -7), scalar("g", 0.1)};
  binding.bind(ok, 3, frame);
  EXPECT_EQ(*static_cast<std::int32_t*>(frame.entry[1]), -7);
  EXPECT_EQ(*static_cast<float*>(frame.entry[2]), 0.1f);
  const asp_arg big[] = {x.arg, integer("k", std::int64_t{1} << 40), scalar("g", 0.1)};
  EXPECT_EQ(std::string(thrown<InvalidArgument>([&] { binding.bind(big, 3, frame); }).what()),
            "argument 'k': 1099511627776 does not fit in i32");
}

TEST(BindingPlan, AParameterNoArgumentFeedsIsAnError) {
  Array x("x", f64, {2});
  EXPECT_THROW(Binding(function_of("x: buffer f64[n], y: buffer f64[n], n: i64"), {x.arg}), std::runtime_error);
  EXPECT_THROW(Binding(function_of("x: buffer f64[n], n: i64, q: f64"), {x.arg}), std::runtime_error);
  EXPECT_THROW(Binding(function_of("x: buffer f32[n], n: i64"), {x.arg}), std::runtime_error);
}

// ---- the specialization cache ----------------------------------------------------------

// The front half of a specialization (frontend, optimizers, lowering) is kept
// in the code cache: a new Specializer (a new process) with the same inputs
// reuses it, and anything it could depend on is part of its key.
class SpecializationCacheTest : public testing::Test {
 protected:
  SpecializationCacheTest() {
    std::filesystem::copy_file(asp::test::test_plugin("scale_plugin"), plugin_);
    registry_ = load();
  }
  std::unique_ptr<Registry> load(const std::string& extra = "") const {
    return registry_with(dir_, "plugins:\n  scale:\n    path: " + plugin_.string() + "\n" + extra);
  }
  Specializer::Result specialize(Registry& registry, const std::string& tree, const std::vector<asp_arg>& args) const {
    return Specializer(registry, &cache_, nullptr).specialize("scale", tree, args);
  }
  Specializer::Result specialize(const std::string& tree = scale_tree) {
    return specialize(*registry_, tree, {out_.arg, a_.arg, scalar("c", 2)});
  }
  std::vector<CodeCache::Entry> entries() const {
    std::vector<CodeCache::Entry> found;
    for (const auto& e : cache_.list()) {
      if (e.kind == "specialization") found.push_back(e);
    }
    return found;
  }
  std::filesystem::path entry_file() const {
    const auto found = entries();
    EXPECT_EQ(found.size(), 1u);
    return cache_.dir() / (found.at(0).key + ".bin");
  }
  asp::test::TempDir dir_;
  std::filesystem::path plugin_ = dir_.path() / "libscale_copy.so";
  CodeCache cache_{dir_.path() / "cache"};
  std::unique_ptr<Registry> registry_;
  Array a_{"a", f64, {8, 8}}, out_{"out", f64, {8, 8}};
};

TEST_F(SpecializationCacheTest, ASecondSpecializationReusesTheFirstsDsirAndPsir) {
  const auto first = specialize();
  EXPECT_FALSE(first.reused);
  ASSERT_EQ(entries().size(), 1u);
  const auto second = specialize();
  EXPECT_TRUE(second.reused);
  EXPECT_EQ(second.dsir, first.dsir);
  EXPECT_EQ(second.psir, first.psir);
  EXPECT_EQ(second.kernel->key(), first.kernel->key());
  ASSERT_EQ(second.kernel->variants().size(), first.kernel->variants().size());
  for (int k = 0; k < 64; ++k) a_.as<double>()[k] = 0.25 * k - 5;
  Callable call(second.kernel, second.binding);
  const asp_arg values[] = {out_.arg, a_.arg, scalar("c", 2)};
  call(values, 3);
  for (int k = 0; k < 64; ++k) ASSERT_EQ(out_.as<double>()[k], a_.as<double>()[k] * 2) << k;
}

TEST_F(SpecializationCacheTest, AnotherTreeIsAMiss) {
  const auto first = specialize();
  const auto other = specialize(tree_of(assign(binop(element("a", 11), "Div", name("c", 18)))));
  EXPECT_FALSE(other.reused);
  EXPECT_NE(other.psir, first.psir);
  EXPECT_EQ(entries().size(), 2u);
}

TEST_F(SpecializationCacheTest, OtherArgumentDescriptionsAreMisses) {
  specialize();
  Array a32("a", f32, {8, 8}), out32("out", f32, {8, 8});
  EXPECT_FALSE(specialize(*registry_, scale_tree, {out32.arg, a32.arg, scalar("c", 2)}).reused);  // dtype
  Array a_long("a", f64, {8, 9}), out_long("out", f64, {8, 9});
  EXPECT_FALSE(specialize(*registry_, scale_tree, {out_long.arg, a_long.arg, scalar("c", 2)}).reused);  // shape
  Array a_strided("a", f64, {8, 8}, {16, 1});
  EXPECT_FALSE(specialize(*registry_, scale_tree, {out_.arg, a_strided.arg, scalar("c", 2)}).reused);  // strides
  EXPECT_FALSE(specialize(*registry_, scale_tree, {out_.arg, a_.arg, scalar("c", 3)}).reused);  // a scalar's value
  EXPECT_TRUE(specialize(*registry_, scale_tree, {out_.arg, a_.arg, scalar("c", 2)}).reused);
  EXPECT_EQ(entries().size(), 5u);
}

TEST_F(SpecializationCacheTest, AnotherConfigurationIsAMiss) {
  specialize();
  auto registry = load("backends:\n  pthreads:\n    priority: 1\n");
  EXPECT_FALSE(specialize(*registry, scale_tree, {out_.arg, a_.arg, scalar("c", 2)}).reused);
  // The log level changes nothing that is built.
  auto logging = load("log: error\n");
  EXPECT_TRUE(specialize(*logging, scale_tree, {out_.arg, a_.arg, scalar("c", 2)}).reused);
}

TEST_F(SpecializationCacheTest, AChangedPluginBinaryIsAMiss) {
  specialize();
  registry_.reset();
  // The same plugin rebuilt: another modification time (and inode, copied anew).
  std::filesystem::remove(plugin_);
  std::filesystem::copy_file(asp::test::test_plugin("scale_plugin"), plugin_);
  std::filesystem::last_write_time(plugin_, std::filesystem::last_write_time(plugin_) + std::chrono::seconds(5));
  registry_ = load();
  EXPECT_FALSE(specialize().reused);
  EXPECT_TRUE(specialize().reused);
}

TEST_F(SpecializationCacheTest, ATruncatedEntryIsRebuiltNotUsed) {
  const auto first = specialize();
  const auto file = entry_file();
  std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
  const auto again = specialize();
  EXPECT_FALSE(again.reused);
  EXPECT_EQ(again.psir, first.psir);
  EXPECT_TRUE(entries().at(0).problem.empty());  // rewritten whole
  EXPECT_TRUE(specialize().reused);
}

TEST_F(SpecializationCacheTest, ACorruptEntryIsRebuiltNotUsed) {
  const auto first = specialize();
  const auto file = entry_file();
  {
    std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(30);
    io.put('#');
  }
  EXPECT_FALSE(entries().at(0).problem.empty());
  const auto again = specialize();
  EXPECT_FALSE(again.reused);
  EXPECT_EQ(again.psir, first.psir);
  EXPECT_TRUE(specialize().reused);
}

// An entry whose checksum holds but whose content is not what the
// specializer wrote (another writer of the same key) is rebuilt too.
TEST_F(SpecializationCacheTest, AnEntryThatDoesNotDecodeIsRebuilt) {
  const auto first = specialize();
  const std::string key = entries().at(0).key;
  for (const std::string& payload : {std::string("not an entry"), std::string("asp-specialization 1\n5\nab"),
                                    std::string("asp-specialization 1\n3\nabc3\nxyz")}) {
    cache_.store(key, payload, "specialization");
    const auto again = specialize();
    EXPECT_FALSE(again.reused) << payload;
    EXPECT_EQ(again.psir, first.psir);
    EXPECT_TRUE(specialize().reused);
  }
}

// Several writers of one entry at once (threads here; processes in
// tests/python/test_warm_start.py): each renames a whole file into place.
TEST_F(SpecializationCacheTest, ConcurrentSpecializationsOfOneKeyAllSucceed) {
  // The binary first, so that the threads do not compile: clang's crash
  // recovery gives a compiling thread a signal stack that AddressSanitizer
  // cannot unmap when the thread ends (scripts/test --sanitize).
  specialize();
  std::filesystem::remove(entry_file());
  std::vector<std::thread> threads;
  std::atomic<int> done{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      Array a("a", f64, {8, 8}), out("out", f64, {8, 8});
      for (int i = 0; i < 5; ++i) {
        const auto result = specialize(*registry_, scale_tree, {out.arg, a.arg, scalar("c", 2)});
        if (!result.psir.empty()) ++done;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), 20);
  ASSERT_EQ(entries().size(), 1u);
  EXPECT_TRUE(entries().at(0).problem.empty());
  EXPECT_TRUE(specialize().reused);
}

TEST_F(SpecializationCacheTest, ADumpRunsEveryStage) {
  specialize();
  auto dumping = load("dump: " + (dir_.path() / "dump").string() + "\n");
  EXPECT_FALSE(specialize(*dumping, scale_tree, {out_.arg, a_.arg, scalar("c", 2)}).reused);
}

TEST(MachineIdentity, NamesTheCpusThisProcessMayUse) {
  const std::string& id = machine_identity();
  EXPECT_THAT(id, HasSubstr(" online "));
  EXPECT_THAT(id, HasSubstr(" allowed "));
  EXPECT_EQ(&id, &machine_identity());
}

// ---- the process runtime -------------------------------------------------------------

TEST(Runtime, UsesTheConfiguredCacheAndTuningDatabase) {
  asp::test::TempDir dir;
  const auto scale = dir.write("scale.yaml", "plugins:\n  scale:\n    path: " + asp::test::test_plugin("scale_plugin") + "\n");
  const auto cache = dir.path() / "cache";
  Runtime runtime(asp::test::fake_environment(
      {{"ASP_CONFIG", scale.string()}, {"ASP_CACHE_DIR", cache.string()}, {"XDG_CONFIG_HOME", dir.path().string()}}));
  ASSERT_TRUE(runtime.cache());
  ASSERT_TRUE(runtime.tuning());
  EXPECT_EQ(runtime.cache()->dir(), cache);
  Array a("a", f64, {5}), out("out", f64, {5});
  const auto first = runtime.specializer().specialize("scale", scale_tree, {out.arg, a.arg, scalar("c", 3)});
  EXPECT_FALSE(first.stats.cache_hit);
  EXPECT_FALSE(first.reused);
  const auto entries = runtime.cache()->list();
  ASSERT_EQ(entries.size(), 2u);  // the binary of the variant that ran, and the specialization's DSIR and PSIR
  EXPECT_EQ(std::count_if(entries.begin(), entries.end(), [](const auto& e) { return e.kind == "specialization"; }), 1);
  EXPECT_TRUE(std::filesystem::exists(cache / "tuning.sqlite"));
  const auto second = runtime.specializer().specialize("scale", scale_tree, {out.arg, a.arg, scalar("c", 3)});
  EXPECT_TRUE(second.stats.cache_hit);
  EXPECT_TRUE(second.reused);
}

TEST(Runtime, RunsWithoutACacheItCannotUse) {
  asp::test::TempDir dir;
  const auto not_a_directory = dir.write("file", "");
  Runtime runtime(asp::test::fake_environment(
      {{"ASP_CACHE_DIR", not_a_directory.string()}, {"XDG_CONFIG_HOME", dir.path().string()}}));
  EXPECT_EQ(runtime.cache(), nullptr);
  EXPECT_EQ(runtime.tuning(), nullptr);
}

}  // namespace
