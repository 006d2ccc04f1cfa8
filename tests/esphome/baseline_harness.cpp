// Drives esphome/components/binmoe/binmoe_baseline.cpp (plain C++, no ESPHome) from stdin for test_baseline.py.
//   start <bands> <total_windows> <digest: 16 hex> [<enter> <exit>]  -> "1" started, "0" refused
//   persistence <enter> <exit>                      -> "ok": the detector scores with these counts (0 keeps one)
//   learn <v0> ... <v(bands-1)>                     -> "<progress_percent>"
//   result                                         -> the baseline's blob in hex (the detector then uses it)
//   push <v0> ... <v(bands-1)>                      -> "<score> <started> <active>"
//   load <blob hex> <digest hex>                    -> "ok" (the detector then uses it), "corrupt", "foreign" or "old"
//   version <blob hex>                              -> baseline_format_version of the blob (0: not a baseline)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binmoe_baseline.h"

using namespace esphome::binmoe;

static size_t parse_hex(const char *hex, uint8_t *out, size_t max) {
  size_t n = 0;
  while (hex[0] && hex[1] && n < max) {
    char byte[3] = {hex[0], hex[1], 0};
    out[n++] = static_cast<uint8_t>(strtoul(byte, nullptr, 16));
    hex += 2;
  }
  return n;
}

static int read_signature(char *rest, int32_t *sig) {
  int n = 0;
  for (char *tok = strtok(rest, " \n"); tok != nullptr && n < MAX_BASELINE_BANDS; tok = strtok(nullptr, " \n"))
    sig[n++] = static_cast<int32_t>(strtol(tok, nullptr, 10));
  return n;
}

int main() {
  static BaselineLearner learner;
  static AnomalyDetector detector;
  static char line[8192];
  static char hex[2 * MAX_BASELINE_BLOB + 2];
  while (fgets(line, sizeof(line), stdin) != nullptr) {
    int32_t sig[MAX_BASELINE_BANDS];
    uint8_t digest[8];
    if (strncmp(line, "start ", 6) == 0) {
      int bands = 0;
      unsigned total = 0, enter = BASELINE_ENTER_WINDOWS, exit = BASELINE_EXIT_WINDOWS;
      char dhex[17] = {0};
      sscanf(line + 6, "%d %u %16s %u %u", &bands, &total, dhex, &enter, &exit);
      parse_hex(dhex, digest, 8);
      BaselinePersistence persistence{static_cast<uint8_t>(enter), static_cast<uint8_t>(exit)};
      printf("%d\n", learner.start(bands, total, digest, persistence) ? 1 : 0);
    } else if (strncmp(line, "persistence ", 12) == 0) {
      unsigned enter = 0, exit = 0;
      sscanf(line + 12, "%u %u", &enter, &exit);
      detector.set_persistence(BaselinePersistence{static_cast<uint8_t>(enter), static_cast<uint8_t>(exit)});
      printf("ok\n");
    } else if (strncmp(line, "learn ", 6) == 0) {
      read_signature(line + 6, sig);
      learner.push(sig);
      printf("%d\n", learner.progress_percent());
    } else if (strncmp(line, "result", 6) == 0) {
      Baseline b;
      learner.result(&b);
      uint8_t blob[MAX_BASELINE_BLOB];
      size_t n = b.to_bytes(blob);
      for (size_t i = 0; i < n; i++)
        printf("%02x", blob[i]);
      printf("\n");
      detector.set_baseline(b);
    } else if (strncmp(line, "push ", 5) == 0) {
      read_signature(line + 5, sig);
      bool started = false;
      uint32_t s = detector.push(sig, &started);
      printf("%u %d %d\n", s, started ? 1 : 0, detector.active() ? 1 : 0);
    } else if (strncmp(line, "version ", 8) == 0) {
      sscanf(line + 8, "%s", hex);
      uint8_t blob[MAX_BASELINE_BLOB + 8];
      printf("%u\n", baseline_format_version(blob, parse_hex(hex, blob, sizeof(blob))));
    } else if (strncmp(line, "load ", 5) == 0) {
      char dhex[17] = {0};
      sscanf(line + 5, "%s %16s", hex, dhex);
      uint8_t blob[MAX_BASELINE_BLOB + 8];
      size_t n = parse_hex(hex, blob, sizeof(blob));
      parse_hex(dhex, digest, 8);
      Baseline b;
      BaselineLoad r = baseline_from_bytes(blob, n, digest, &b);
      if (r == BaselineLoad::OK)
        detector.set_baseline(b);
      printf("%s\n", r == BaselineLoad::OK            ? "ok"
                     : r == BaselineLoad::FOREIGN     ? "foreign"
                     : r == BaselineLoad::OLD_VERSION ? "old"
                                                      : "corrupt");
    }
    fflush(stdout);
  }
  return 0;
}
