// The stencil plugin as the core uses it: loaded by the registry from the
// default configuration, its frontend, DSIR optimizers and lowering called
// through the C ABI, the PSIR compiled by the openmp backend; and a way to
// run every variant of the result on arrays.
#pragma once

#include "stencil_support.hpp"
#include "support.hpp"

#include "asp/core/kernel.hpp"
#include "asp/core/registry.hpp"

#include <asp/plugin.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace asp::stencil::test {

// What the frontend, optimizers and lowering produced, or the first error.
struct Specialized {
  std::string dsir;  // after the optimizers
  std::string psir;
  std::optional<core::PluginError> error;
};

class Pipeline {
 public:
  // The default configuration with only the openmp backend enabled: the one these tests compile for.
  Pipeline() {
    const auto only_openmp = dir_.write("openmp.yaml", "backends:\n  cuda:\n    enabled: false\n  pthreads:\n"
                                                      "    enabled: false\n  opencl:\n    enabled: false\n");
    core::Diagnostics diagnostics;
    registry_ = core::Registry::load(asp::test::load_files({ASP_TEST_DEFAULT_CONFIG, only_openmp}, diagnostics), diagnostics);
    for (const auto& d : diagnostics) ADD_FAILURE() << d.str();
  }

  core::Registry& registry() { return *registry_; }

  // The stencil domain's components of `kind`, in registration order.
  std::vector<const asp_component*> components(asp_component_kind kind) const {
    std::vector<const asp_component*> found;
    for (const core::Component& c : registry_->components()) {
      if (c.description->kind == kind && c.description->domain && std::string(c.description->domain) == "stencil") {
        found.push_back(c.description);
      }
    }
    return found;
  }

  Specialized specialize(const std::string& tree_text, const Args& args) const {
    Specialized out;
    auto run = [&](const std::function<asp_status(asp_host_context*, const asp_text_sink*)>& call) {
      std::string text;
      const asp_text_sink sink{sizeof sink, &text,
                               [](void* c, const char* d, size_t n) { static_cast<std::string*>(c)->append(d, n); }};
      out.error = core::call_plugin("stencil test", [&](asp_host_context* ctx) { return call(ctx, &sink); });
      return text;
    };
    const auto* frontend = static_cast<const asp_frontend*>(components(ASP_COMPONENT_FRONTEND).at(0)->vtable);
    out.dsir = run([&](asp_host_context* ctx, const asp_text_sink* sink) {
      return frontend->translate(frontend->self, ctx, tree_text.c_str(), args.get().data(), args.get().size(), sink);
    });
    if (out.error) return out;
    for (const asp_component* c : components(ASP_COMPONENT_OPTIMIZER)) {
      const auto* optimizer = static_cast<const asp_optimizer*>(c->vtable);
      out.dsir = run([&](asp_host_context* ctx, const asp_text_sink* sink) {
        return optimizer->run(optimizer->self, ctx, out.dsir.c_str(), sink);
      });
      if (out.error) return out;
    }
    const auto* lowering = static_cast<const asp_lowering*>(components(ASP_COMPONENT_LOWERING).at(0)->vtable);
    out.psir = run([&](asp_host_context* ctx, const asp_text_sink* sink) {
      return lowering->lower(lowering->self, ctx, out.dsir.c_str(), sink);
    });
    return out;
  }

  // Specializes and compiles for the openmp backend; fails the test on any error.
  std::shared_ptr<core::Kernel> compile(const std::string& tree_name, const Args& args) {
    const Specialized s = specialize(tree(tree_name), args);
    if (s.error) {
      ADD_FAILURE() << tree_name << ": " << s.error->message;
      return nullptr;
    }
    core::KernelCompiler compiler(*registry_, nullptr, nullptr);
    return compiler.compile(s.psir, "openmp");
  }

 private:
  asp::test::TempDir dir_;
  std::unique_ptr<core::Registry> registry_;
};

// The arrays of one call, by grid name, and the C entry arguments for a
// variant: buffers' data, then each extent from the shape of a buffer that names it.
class Arrays {
 public:
  void add(const std::string& name, void* data, std::vector<std::int64_t> shape) { grids_[name] = {data, std::move(shape)}; }

  std::vector<void*> args(const psir::Function& f) {
    extents_.assign(f.params.size(), 0);
    std::vector<void*> out(f.params.size(), nullptr);
    for (std::size_t p = 0; p < f.params.size(); ++p) {
      const psir::Param& param = f.params[p];
      if (param.kind == psir::Param::Kind::buffer) {
        out[p] = grids_.at(param.name).first;
        continue;
      }
      for (const psir::Param& buffer : f.params) {
        for (std::size_t d = 0; d < buffer.shape.size(); ++d) {
          const auto* name = std::get_if<std::string>(&buffer.shape[d]);
          if (name && *name == param.name) extents_[p] = grids_.at(buffer.name).second.at(d);
        }
      }
      out[p] = &extents_[p];
    }
    return out;
  }

 private:
  std::map<std::string, std::pair<void*, std::vector<std::int64_t>>> grids_;
  std::vector<std::int64_t> extents_;
};

// Runs every variant whose run check holds on fresh state from make() (whose
// arrays bind() registers), then check(state, status, variant name); returns how many ran.
template <class Make, class Bind, class Check>
int run_variants(core::Kernel& kernel, Make make, Bind bind, Check check) {
  int ran = 0;
  for (std::size_t v = 0; v < kernel.variants().size(); ++v) {
    auto state = make();
    Arrays arrays;
    bind(state, arrays);
    std::vector<void*> args = arrays.args(kernel.variants()[v].function);
    if (!kernel.runnable(v, args.data())) continue;
    const int status = kernel.variants()[v].entry(args.data());
    check(state, status, kernel.variants()[v].function.name);
    ++ran;
  }
  return ran;
}

}  // namespace asp::stencil::test
