// asp._core.Dispatcher: the dispatcher of one kernel instance (DESIGN.md §12).
#pragma once

#include <nanobind/nanobind.h>

namespace asp::python {

// Adds the class Dispatcher to the module.
void define_dispatcher(nanobind::module_& m);

}  // namespace asp::python
