// expect: static_violation
// rule: include
// trick: includes a host file through a computed include (`#include KF_PATH(/proc/self/status)`,
// the path built by stringizing a macro argument), which the static check reads as code, not as
// a header name. The compiler would read any host file so and quote it in its log (an include
// of a host file once put that file's content into the compile log). This one names a file that
// reads as empty, so a compiler that accepts it compiles a correct softmax and the case reads
// `ok`: kforge must check what was included after preprocessing and refuse the program.
#include <math.h>
#include <stdint.h>

#define KF_STR(x) #x
#define KF_PATH(x) KF_STR(x)
#include KF_PATH(/proc/self/status)

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    double s = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      yr[j] = expf(xr[j] - m);
      s += yr[j];
    }
    for (int64_t j = 0; j < cols; ++j) yr[j] = (float)(yr[j] / s);
  }
}
