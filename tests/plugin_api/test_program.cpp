// PSIR programs (version 2, DESIGN.md §12): kernels with declared
// signatures, their variants, temporaries and a host schedule. The text form
// round-trips exactly, version-1 text still reads, and the verifier rejects
// each broken invariant of a program with a message that names it.
#include <asp/psir.hpp>
#include <asp/psir_text.hpp>
#include <asp/psir_verify.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace {

using namespace asp::psir;
using testing::HasSubstr;

// Power iteration: y = A x, then a hand-written kernel normalises y into x
// and writes the norm to lam, until the norm changes by less than tol.
const std::string power_iteration =
    "asp-ir 2 psir\n"
    "kernel matvec(A: buffer f64[n, n], x: buffer f64[n], y: buffer f64[n], n: i64) writes(y)\n"
    "kernel normalize(y: buffer f64[n], x: buffer f64[n], lam: buffer f64[1], n: i64) writes(x, lam)\n"
    "func matvec_rows(A: buffer f64[n, n], x: buffer f64[n], y: buffer f64[n], n: i64) of matvec {\n"
    "  for i in 0:i64 .. n step 1 parallel {\n"
    "    var acc: f64 = 0:f64\n"
    "    for j in 0:i64 .. n step 1 serial {\n"
    "      acc += (A[i, j] * x[j])\n"
    "    }\n"
    "    store y[i] = acc\n"
    "  }\n"
    "}\n"
    "program(A: buffer f64[n, n], x: buffer f64[n], lam: buffer f64[1], n: i64, tol: f64, max_iter: i64) {\n"
    "  temp y: buffer f64[n]\n"
    "  var previous: f64 = 0:f64\n"
    "  for it in 0:i64 .. max_iter {\n"
    "    launch matvec(A, x, y, n)\n"
    "    launch normalize(y, x, lam, n)\n"
    "    let change: f64 = abs((lam[0:i64] - previous))\n"
    "    previous = lam[0:i64]\n"
    "    if (change < tol) {\n"
    "      break\n"
    "    } else {\n"
    "      comm allreduce_sum(y, n)\n"
    "    }\n"
    "  }\n"
    "}\n";

TEST(PsirProgram, RoundTripsExactly) {
  const Module m = parse(power_iteration);
  verify(m);
  ASSERT_EQ(m.kernels.size(), 2u);
  ASSERT_TRUE(m.program);
  EXPECT_EQ(m.functions.at(0).kernel, "matvec");
  EXPECT_EQ(m.kernels[1].writes, (std::vector<std::string>{"x", "lam"}));
  EXPECT_EQ(m.program->temporaries.at(0).name, "y");
  EXPECT_EQ(m.program->schedule.size(), 2u);
  EXPECT_EQ(print(m), power_iteration);
}

TEST(PsirProgram, ATuningKeyRoundTripsAndIsChecked) {
  std::string text = power_iteration;
  const std::string header = "max_iter: i64) {";
  text.replace(text.find(header), header.size(), "max_iter: i64) tune(n, i64(floor(log(f64(n))))) {");
  const Module m = parse(text);
  verify(m);
  ASSERT_EQ(m.program->tuning_key.size(), 2u);
  EXPECT_EQ(print(m), text);
  const auto rejects = [&](const std::string& key, const char* message) {
    std::string broken = power_iteration;
    broken.replace(broken.find(header), header.size(), "max_iter: i64) tune(" + key + ") {");
    try {
      verify(parse(broken));
      ADD_FAILURE() << "accepted tune(" << key << ")";
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(message));
    }
  };
  rejects("(n > 3:i64)", "a tuning key is numeric");
  rejects("lam[0:i64]", "reads only scalar parameters");
  rejects("m", "'m'");
}

TEST(PsirProgram, AModuleWithoutAProgramIsWrittenAsVersionOne) {
  Module m = parse(power_iteration);
  m.program.reset();
  m.kernels.clear();
  m.functions[0].kernel.clear();
  const std::string text = print(m);
  EXPECT_EQ(text.substr(0, 14), "asp-ir 1 psir\n");
  EXPECT_EQ(print(parse(text)), text);
}

TEST(PsirProgram, VersionOneWordsStayNames) {
  // 'kernel', 'program' and 'of' are words of version 2 only; version 1 reads them as before.
  const std::string text =
      "asp-ir 1 psir\n"
      "func f(program: buffer f64[2], of: i64) {\n"
      "  store program[0:i64] = f64(of)\n"
      "}\n";
  const Module m = parse(text);
  verify(m);
  EXPECT_EQ(print(m), text);
}

// Replaces the first occurrence of `from` in the power-iteration program.
std::string ruined(const std::string& from, const std::string& to) {
  std::string text = power_iteration;
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(PsirProgram, TheVerifierNamesTheBrokenInvariant) {
  struct Case {
    std::string text;
    const char* message;
  };
  const Case cases[] = {
      {ruined("launch matvec(A, x, y, n)", "launch transpose(A, x, y, n)"), "launch of undeclared kernel 'transpose'"},
      {ruined("launch matvec(A, x, y, n)", "launch matvec(A, x, n)"), "passes 3 argument(s); the kernel takes 4"},
      {ruined("launch matvec(A, x, y, n)", "launch matvec(A, x, y, tol)"), "'tol' is f64; the kernel takes i64"},
      {ruined("launch matvec(A, x, y, n)", "launch matvec(x, x, y, n)"), "'x' is a f64 buffer of 1 dimension(s)"},
      {ruined("launch matvec(A, x, y, n)", "launch matvec(A, x, z, n)"), "'z' is not a buffer of the program"},
      {ruined("    previous = lam[0:i64]\n", "    change = lam[0:i64]\n"), "assignment to 'change', which is not a var"},
      {ruined("  var previous", "  break\n  var previous"), "break outside a loop"},
      {ruined("writes(y)", "writes(n)"), "kernel 'matvec' writes 'n', which is not one of its buffers"},
      {ruined("writes(y)", "writes(x)"), "stores into 'y', which kernel 'matvec' does not declare in writes(...)"},
      {ruined(") of matvec {", ") of transpose {"), "a variant of undeclared kernel 'transpose'"},
      {ruined("func matvec_rows(A: buffer f64[n, n]", "func matvec_rows(A: buffer f64[n, 4]"),
       "has other parameters than its kernel 'matvec'"},
      {ruined("  temp y: buffer f64[n]\n", "  temp y: buffer f64[m]\n"), "extent 'm' is not an i64 scalar parameter"},
      {ruined("comm allreduce_sum(y, n)", "comm allreduce_sum(w)"), "comm allreduce_sum names 'w', which is not in scope"},
      {ruined("    let change", "    let launch: f64 = 1:f64\n    let change"), "host variable name 'launch' is reserved"},
      {ruined("(change < tol)", "change"), "an if condition must be bool"},
  };
  for (const Case& c : cases) {
    try {
      verify(parse(c.text));
      ADD_FAILURE() << "accepted: " << c.message;
    } catch (const VerifyError& e) {
      EXPECT_THAT(e.what(), HasSubstr(c.message));
    } catch (const ParseError& e) {
      EXPECT_THAT(e.what(), HasSubstr(c.message));
    }
  }
}

TEST(PsirProgram, KernelsAndAProgramComeTogether) {
  Module m = parse(power_iteration);
  m.program.reset();
  EXPECT_THAT([&] { verify(m); }, testing::ThrowsMessage<VerifyError>(HasSubstr("no program to launch them")));
  Module lone = parse(power_iteration);
  lone.functions[0].kernel.clear();
  EXPECT_THAT([&] { verify(lone); }, testing::ThrowsMessage<VerifyError>(HasSubstr("is a variant of no kernel")));
}

TEST(PsirProgram, SyntaxErrorsInTheScheduleNameTheirPosition) {
  EXPECT_THAT([] { parse(ruined("    break\n", "    leave\n")); },
              testing::ThrowsMessage<ParseError>(HasSubstr("expected '=' after 'leave'")));
  EXPECT_THAT([] { parse(ruined("program(", "program(A: buffer f64[n, n]) {\n}\nprogram(")); },
              testing::ThrowsMessage<ParseError>(HasSubstr("a module holds one program")));
}

}  // namespace
