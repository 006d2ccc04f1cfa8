// Drives esphome/components/binmoe/binmoe_alarm_code.cpp (plain C++, no ESPHome) from stdin for
// test_alarm_code.py.
//   bands <n>              -> "1" configured (a new stream), "0" refused
//   push <v0> ... <v(n-1)> -> the code this frame completes: 0, 1 (T3) or 2 (T4)
//   tones <mask>           -> nothing: the tone bands of the following pushes (decimal; all bands until set)
//   reset                  -> nothing (a new stream)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binmoe_alarm_code.h"

using esphome::binmoe::AlarmCodeDetector;

int main() {
  static AlarmCodeDetector detector;
  static char line[4096];
  uint16_t tone_bands = AlarmCodeDetector::ALL_BANDS;
  while (fgets(line, sizeof(line), stdin) != nullptr) {
    if (strncmp(line, "bands ", 6) == 0) {
      printf("%d\n", detector.configure(atoi(line + 6)) ? 1 : 0);
    } else if (strncmp(line, "push ", 5) == 0) {
      int8_t levels[AlarmCodeDetector::MAX_BANDS] = {};
      int n = 0;
      for (char *tok = strtok(line + 5, " \n"); tok != nullptr && n < AlarmCodeDetector::MAX_BANDS;
           tok = strtok(nullptr, " \n"))
        levels[n++] = static_cast<int8_t>(strtol(tok, nullptr, 10));
      printf("%d\n", static_cast<int>(detector.push(levels, tone_bands)));
    } else if (strncmp(line, "tones ", 6) == 0) {
      tone_bands = static_cast<uint16_t>(strtol(line + 6, nullptr, 10));
    } else if (strncmp(line, "reset", 5) == 0) {
      detector.reset();
    }
  }
  return 0;
}
