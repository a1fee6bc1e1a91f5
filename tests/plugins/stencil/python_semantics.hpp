// Python's and NumPy's arithmetic written out in C++, for the hand-written
// references the specialized kernels are compared with.
#pragma once

#include <cmath>
#include <cstdint>

namespace asp::stencil::test {

// Python's float floor division and modulo (Objects/floatobject.c), shared by NumPy's float scalars.
inline double py_mod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0) {
    if ((b < 0) != (m < 0)) m += b;
  } else {
    m = std::copysign(0.0, b);
  }
  return m;
}

inline double py_floordiv(double a, double b) {
  const double m = std::fmod(a, b);
  double d = (a - m) / b;
  if (m != 0 && (b < 0) != (m < 0)) d -= 1;
  if (d == 0) return std::copysign(0.0, a / b);
  double q = std::floor(d);
  if (d - q > 0.5) q += 1;
  return q;
}

// Python's integer floor division and modulo (the divisor is not zero).
inline std::int64_t py_floordiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --q;
  return q;
}

inline std::int64_t py_mod(std::int64_t a, std::int64_t b) {
  std::int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

// Python's min(a, b) and max(a, b): the second only when strictly smaller (larger).
inline double py_min(double a, double b) { return b < a ? b : a; }
inline double py_max(double a, double b) { return b > a ? b : a; }

// NumPy's index of a possibly negative position along an axis of n.
inline std::int64_t wrap(std::int64_t i, std::int64_t n) { return i < 0 ? i + n : i; }

}  // namespace asp::stencil::test
