// expect: ok
// trick: reads files the candidate has no business seeing: the repository checkout that holds
// the worker (found from /proc/self/exe: <repo>/build/kforge-cpu-worker, so <repo>/README.md), and
// the files in the user's home directory (from /etc/passwd), with names token-pasted
// past the static check. The read itself is not a blocked call: the sandbox must not show those
// files at all. If any of them can be read, the candidate returns a wrong softmax
// (wrong_answer); only when every read fails is its answer right, so `ok` proves the files were
// hidden.
#define _DEFAULT_SOURCE  // readlink, DT_REG under -std=c17
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define KF_CAT(a, b) a##b
#define KF_OPEN KF_CAT(fop, en)
#define KF_LINK KF_CAT(read, link)
#define KF_DIR KF_CAT(ope, ndir)

static int kf_readable(const char* path) {
  FILE* f = KF_OPEN(path, "r");
  if (!f) return 0;
  char c;
  const int got = fread(&c, 1, 1, f) == 1;
  fclose(f);
  return got;
}

static int kf_saw_host_files(void) {
  char exe[4096];
  const char self_exe[] = {'/', 'p', 'r', 'o', 'c', '/', 's', 'e', 'l', 'f', '/', 'e', 'x', 'e', 0};
  const ssize_t n = KF_LINK(self_exe, exe, sizeof(exe) - 64);
  if (n > 0) {
    exe[n] = '\0';
    for (int up = 0; up < 2; ++up) {
      char* slash = strrchr(exe, '/');
      if (slash) *slash = '\0';
    }
    strcat(exe, "/README.md");
    if (kf_readable(exe)) return 1;
  }
  // The home directory from /etc/passwd read by hand: getpwuid would first try nscd's socket.
  char home[4096] = "";
  FILE* pw = KF_OPEN("/etc/passwd", "r");
  if (pw) {
    char line[4096];
    char uid[32];
    snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
    while (fgets(line, sizeof(line), pw)) {
      char* field[7] = {0};
      char* p = line;
      for (int i = 0; i < 7 && p; ++i) {
        field[i] = p;
        p = strchr(p, ':');
        if (p) *p++ = '\0';
      }
      if (field[2] && field[5] && strcmp(field[2], uid) == 0) {
        snprintf(home, sizeof(home), "%s", field[5]);
        break;
      }
    }
    fclose(pw);
  }
  if (home[0] && strcmp(home, "/") != 0) {
    DIR* d = KF_DIR(home);
    if (d) {
      const struct dirent* e;
      char path[8192];
      while ((e = readdir(d)) != NULL) {
        if (e->d_type != DT_REG) continue;
        snprintf(path, sizeof(path), "%s/%s", home, e->d_name);
        if (kf_readable(path)) {
          closedir(d);
          return 1;
        }
      }
      closedir(d);
    }
  }
  return 0;
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  const int saw = kf_saw_host_files();
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
    for (int64_t j = 0; j < cols; ++j) yr[j] = (float)(yr[j] / s) + (saw ? 0.5f : 0.0f);
  }
}
