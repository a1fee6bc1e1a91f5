// The host schedule of a PSIR program, run by the core between launches on
// each host backend: loops with a break, host arithmetic on elements of
// buffers, communication statements through a registered operation, and the
// errors a schedule can cause (a launch whose buffer does not have the extents
// its kernel takes, a read outside a buffer, a communication operation that no
// layer provides), each an exception, never a wrong or unsafe call.
#include "asp/core/binding.hpp"
#include "asp/core/program.hpp"
#include "asp/core/registry.hpp"

#include "support.hpp"

#include <asp/psir_text.hpp>
#include <asp/psir_verify.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using namespace asp::core;
using testing::HasSubstr;

// v = fill(c), then v = 2 v until v[0] exceeds limit, or `rounds` times; the count of doublings lands in count[0].
std::string program_text(const std::string& extra = "", const std::string& scale_extent = "n") {
  return "asp-ir 2 psir\n"
         "kernel fill(v: buffer f64[n], c: f64, n: i64) writes(v)\n"
         "kernel twice(v: buffer f64[n], n: i64) writes(v)\n"
         "func fill_all(v: buffer f64[n], c: f64, n: i64) of fill {\n"
         "  for i in 0:i64 .. n step 1 parallel {\n"
         "    store v[i] = c\n"
         "  }\n"
         "}\n"
         "func twice_all(v: buffer f64[n], n: i64) of twice {\n"
         "  for i in 0:i64 .. n step 1 parallel {\n"
         "    store v[i] = (v[i] * 2:f64)\n"
         "  }\n"
         "}\n"
         "program(v: buffer f64[n], count: buffer f64[1], c: f64, limit: f64, rounds: i64, n: i64) {\n"
         "  temp scratch: buffer f64[n]\n"
         "  launch fill(v, c, n)\n"
         "  var done: f64 = 0:f64\n"
         "  let one: i64 = 1:i64\n"
         "  let wrong: i64 = (n + 1:i64)\n"
         "  for r in 0:i64 .. rounds {\n"
         "    if (v[0:i64] > limit) {\n"
         "      break\n"
         "    }\n"
         "    launch twice(v, " + scale_extent + ")\n"
         "    launch twice(scratch, n)\n"
         "    done = (done + 1:f64)\n"
         "  }\n" + extra +
         "  launch fill(count, done, one)\n"
         "}\n";
}

struct Vector {
  Vector(const char* name, std::size_t n) : values(n, -1.0), shape{static_cast<std::int64_t>(n)} {
    arg.struct_size = sizeof arg;
    arg.name = name;
    arg.kind = ASP_ARG_TENSOR;
    arg.tensor.data = values.data();
    arg.tensor.device = {kDLCPU, 0};
    arg.tensor.dtype = {kDLFloat, 64, 1};
    arg.tensor.ndim = 1;
    arg.tensor.shape = shape.data();
  }
  std::vector<double> values;
  std::vector<std::int64_t> shape;
  asp_arg arg{};
};

asp_arg number(const char* name, double f, std::int64_t i, bool integer) {
  asp_arg a{};
  a.struct_size = sizeof a;
  a.name = name;
  a.kind = ASP_ARG_SCALAR;
  a.scalar_type = integer ? DLDataType{kDLInt, 64, 1} : DLDataType{kDLFloat, 64, 1};
  if (integer) {
    a.scalar.i = i;
  } else {
    a.scalar.f = f;
  }
  return a;
}

class ProgramTest : public testing::TestWithParam<const char*> {
 protected:
  ProgramTest() {
    Diagnostics diagnostics;
    registry_ = Registry::load(asp::test::load_files({ASP_TEST_DEFAULT_CONFIG}, diagnostics), diagnostics);
  }
  void SetUp() override {
    const BackendState* backend = registry_->backend(GetParam());
    if (!backend || !backend->available) GTEST_SKIP() << GetParam() << " is unavailable here";
  }

  // Compiles the program for the backend under test and runs it once on v (n elements).
  void run(const std::string& text, std::vector<double>& v_out, double& count_out, double limit = 1e9, std::int64_t rounds = 3,
           std::size_t n = 5) {
    const asp::psir::Module module = asp::psir::parse(text);
    KernelCompiler compiler(*registry_, nullptr, nullptr);
    auto kernels = compiler.compile_program(module, GetParam(), "test");
    Vector v("v", n), count("count", 1);
    std::vector<asp_arg> args{v.arg, count.arg, number("c", 1.5, 0, false), number("limit", limit, 0, false),
                              number("rounds", 0, rounds, true), number("n", 0, static_cast<std::int64_t>(n), true)};
    Callable callable(kernels, module, Binding({"program", module.program->params}, args));
    callable(args.data(), args.size());
    v_out = v.values;
    count_out = count.values[0];
  }

  std::unique_ptr<Registry> registry_;
};

TEST_P(ProgramTest, TheScheduleLoopsAndBreaksOnTheHost) {
  std::vector<double> v;
  double count = 0;
  run(program_text(), v, count);
  EXPECT_EQ(v, std::vector<double>(5, 1.5 * 8));
  EXPECT_EQ(count, 3);
  run(program_text(), v, count, /*limit=*/5.0, /*rounds=*/100);  // 1.5, 3, 6: stops once v[0] > 5
  EXPECT_EQ(v, std::vector<double>(5, 6.0));
  EXPECT_EQ(count, 2);
}

TEST_P(ProgramTest, ATuningKeyReplacesTheShapesInTheTunersSignature) {
  std::string text = program_text();
  const std::string header = "rounds: i64, n: i64) {";
  text.replace(text.find(header), header.size(), "rounds: i64, n: i64) tune(n, i64(floor(log(f64(n))))) {");
  const asp::psir::Module module = asp::psir::parse(text);
  asp::psir::verify(module);
  KernelCompiler compiler(*registry_, nullptr, nullptr);
  auto kernels = compiler.compile_program(module, GetParam(), "test");
  std::vector<std::string> names;
  for (const auto& k : module.kernels) names.push_back(k.name);
  const ProgramRunner runner(*module.program, kernels, names);
  for (std::size_t n : {5u, 30u}) {
    Vector v("v", n), count("count", 1);
    std::vector<asp_arg> args{v.arg, count.arg, number("c", 1.5, 0, false), number("limit", 1e9, 0, false),
                              number("rounds", 0, 3, true), number("n", 0, static_cast<std::int64_t>(n), true)};
    const Binding binding({"program", module.program->params}, args);
    Binding::Frame frame;
    binding.bind(args.data(), args.size(), frame);
    EXPECT_EQ(runner.tuning_signature(frame), n == 5 ? "tune(5, 1)" : "tune(30, 3)");
  }
  // Without a key the runner leaves the signature to the arguments' shapes.
  const asp::psir::Module plain = asp::psir::parse(program_text());
  const ProgramRunner untuned(*plain.program, kernels, names);
  Binding::Frame frame;
  EXPECT_EQ(untuned.tuning_signature(frame), "");
}

TEST_P(ProgramTest, ACommunicationStatementRunsTheRegisteredOperation) {
  const std::string text = program_text("  comm negate(v, done)\n");
  std::vector<std::size_t> seen;
  register_comm("negate", [&](const std::vector<CommArgument>& args) {
    seen = {args.size(), args[0].bytes, args[1].bytes};
    auto* data = static_cast<double*>(args[0].data);
    for (std::size_t i = 0; i < args[0].bytes / sizeof(double); ++i) data[i] = -data[i];
  });
  std::vector<double> v;
  double count = 0;
  run(text, v, count);
  EXPECT_EQ(v, std::vector<double>(5, -12.0));
  EXPECT_EQ(seen, (std::vector<std::size_t>{2, 5 * sizeof(double), sizeof(double)}));
  register_comm("negate", {});
  EXPECT_THAT([&] { run(text, v, count); },
              testing::ThrowsMessage<std::runtime_error>(HasSubstr("no communication layer provides that operation")));
}

TEST_P(ProgramTest, ALaunchWhoseBufferHasOtherExtentsThanItsKernelTakesIsRefused) {
  std::vector<double> v;
  double count = 0;
  EXPECT_THAT([&] { run(program_text("", "wrong"), v, count); },
              testing::ThrowsMessage<InvalidArgument>(
                  HasSubstr("launch twice: buffer 'v' has extent 5 on axis 0 where the kernel takes n = 6")));
}

TEST_P(ProgramTest, AHostReadOutsideABufferIsAFault) {
  std::string text = program_text();
  text.replace(text.find("v[0:i64] > limit"), 16, "v[n] > limit");
  std::vector<double> v;
  double count = 0;
  try {
    run(text, v, count);
    ADD_FAILURE() << "the read of v[5] was not refused";
  } catch (const KernelFault& e) {
    EXPECT_EQ(e.kind(), KernelFault::Kind::out_of_bounds);
    EXPECT_THAT(e.what(), HasSubstr("reads v at index 5 of axis 0, outside its extent 5"));
  }
}

TEST_P(ProgramTest, AKernelWithoutAVariantForTheBackendIsAnError) {
  std::string text = program_text();
  text.replace(text.find(" of twice"), 9, " of fill");  // twice now has no generated variant and no kernel source
  text.replace(text.find("func twice_all(v: buffer f64[n], n: i64)"), 40, "func twice_all(v: buffer f64[n], c: f64, n: i64)");
  text.replace(text.find("store v[i] = (v[i] * 2:f64)"), 27, "store v[i] = c");
  std::vector<double> v;
  double count = 0;
  EXPECT_THAT([&] { run(text, v, count); },
              testing::ThrowsMessage<std::runtime_error>(HasSubstr("kernel twice has no variant that backend")));
}

// Not opencl: this executable links the core's LLVM 16 globally, and PoCL's own LLVM 15 then crashes in
// it. The device path of programs runs from Python (tests/out_of_tree/power), where the core is loaded locally.
INSTANTIATE_TEST_SUITE_P(HostBackends, ProgramTest, testing::Values("openmp", "pthreads"));

}  // namespace
