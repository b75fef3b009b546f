// expect: sandbox_violation
// detail: socket
// trick: opens a TCP connection to 127.0.0.1 (exfiltration / talking to a helper) through
// token-pasted `socket` and `connect`, declared by hand so that no network header (whose name
// would contain a forbidden word) is included. Only the sandbox can stop it; if the call is
// refused silently the candidate computes a correct softmax and reads as `ok`.
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define KF_CAT(a, b) a##b
#define KF_SOCK KF_CAT(sock, et)
#define KF_CONN KF_CAT(conn, ect)

int KF_SOCK(int domain, int type, int protocol);
int KF_CONN(int fd, const void* addr, uint32_t addrlen);

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  int fd = KF_SOCK(2 /* AF_INET */, 1 /* SOCK_STREAM */, 0);
  if (fd >= 0) {
    unsigned char sa[16] = {0};
    uint16_t family = 2;
    memcpy(sa, &family, 2);  // sin_family, host order
    sa[2] = 0;               // sin_port = 9 (discard), network order
    sa[3] = 9;
    sa[4] = 127;  // sin_addr = 127.0.0.1
    sa[7] = 1;
    (void)KF_CONN(fd, sa, sizeof(sa));
    close(fd);
  }
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
