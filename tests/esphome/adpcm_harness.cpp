// Drives esphome/components/binmoe/binmoe_adpcm.cpp (plain C++, no ESPHome) from stdin for test_adpcm_node.py.
//   init <blocks>                -> "ok": a capture ring of that many complete blocks (at most 64)
//   write <s0> <s1> ...          -> "<complete blocks>"
//   reset                        -> "ok": a new stream
//   copy                         -> the complete blocks, oldest first, in hex
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binmoe_adpcm.h"

using namespace esphome::binmoe;

static constexpr uint32_t MAX_BLOCKS = 64;

int main() {
  static uint8_t storage[(MAX_BLOCKS + 1) * ADPCM_BLOCK_BYTES];
  static uint8_t out[MAX_BLOCKS * ADPCM_BLOCK_BYTES];
  static char line[1 << 16];
  static int16_t samples[1 << 14];
  AdpcmCapture capture;
  while (fgets(line, sizeof(line), stdin) != nullptr) {
    char *cmd = strtok(line, " \n");
    if (cmd == nullptr)
      continue;
    if (strcmp(cmd, "init") == 0) {
      const uint32_t blocks = static_cast<uint32_t>(strtoul(strtok(nullptr, " \n"), nullptr, 10));
      capture.init(storage, blocks < MAX_BLOCKS ? blocks : MAX_BLOCKS);
      puts("ok");
    } else if (strcmp(cmd, "write") == 0) {
      int n = 0;
      for (char *tok = strtok(nullptr, " \n"); tok != nullptr && n < (1 << 14); tok = strtok(nullptr, " \n"))
        samples[n++] = static_cast<int16_t>(strtol(tok, nullptr, 10));
      capture.write(samples, n);
      printf("%u\n", static_cast<unsigned>(capture.complete()));
    } else if (strcmp(cmd, "reset") == 0) {
      capture.reset();
      puts("ok");
    } else if (strcmp(cmd, "copy") == 0) {
      capture.copy_in_order(out);
      for (size_t i = 0; i < size_t{capture.complete()} * ADPCM_BLOCK_BYTES; i++)
        printf("%02x", out[i]);
      putchar('\n');
    }
    fflush(stdout);
  }
  return 0;
}
