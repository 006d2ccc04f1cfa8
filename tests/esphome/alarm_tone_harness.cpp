// Drives esphome/components/binmoe/binmoe_alarm_tone.cpp (plain C++, no ESPHome) for test_alarm_tone.py: the
// kernel's feature extractor computes each frame's FFT (as on the node) and hands its spectrum to the detector.
//   alarm_tone_harness <tables file> [t3-only] [any-pitch] [bands]   (line 1: the quarter-wave sine table, line 2:
//   the 17 band edges; t3-only: the detector with T4 off, as `co_tone: false`; any-pitch: codes on tones of any
//   pitch, as `alarm_pitch: false`)
//   stdin: int16 PCM (little-endian), any length; stdout: one character per whole frame, the code the frame
//   completes: 1 (T3), 2 (T4), else 0; with `bands`: a line per frame instead, "<code> <band_mask>".
//   alarm_tone_harness admitted: one character per pitch 0..4095 (1/16 bins): 1 if a sounder's, else 0.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binmoe_alarm_tone.h"
#include "kernel/binmoe_kernel.h"

using esphome::binmoe::AlarmToneDetector;

constexpr int N = AlarmToneDetector::FRAME;

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "admitted") == 0) {
    for (int pitch = 0; pitch < 4096; pitch++)
      putchar(AlarmToneDetector::admitted(pitch) ? '1' : '0');
    putchar('\n');
    return 0;
  }
  static int16_t quarter_sin[N / 4 + 1];
  static uint16_t edges[17];
  FILE *tables = argc > 1 ? fopen(argv[1], "r") : nullptr;
  if (tables == nullptr)
    return 2;
  for (auto &v : quarter_sin) {
    int x;
    if (fscanf(tables, "%d", &x) != 1)
      return 2;
    v = static_cast<int16_t>(x);
  }
  for (auto &e : edges) {
    int x;
    if (fscanf(tables, "%d", &x) != 1)
      return 2;
    e = static_cast<uint16_t>(x);
  }
  fclose(tables);
  static binmoe::FeatureExtractor<N, 16> extractor(quarter_sin, edges);
  static AlarmToneDetector detector;
  detector.reset();
  bool t4 = true, gate = true, bands = false;
  for (int i = 2; i < argc; i++) {
    t4 = t4 && strcmp(argv[i], "t3-only") != 0;
    gate = gate && strcmp(argv[i], "any-pitch") != 0;
    bands = bands || strcmp(argv[i], "bands") == 0;
  }
  detector.set_t4(t4);
  detector.set_pitch_gate(gate);
  static int16_t frame[N];
  static int8_t features[16];
  while (fread(frame, sizeof(int16_t), N, stdin) == static_cast<size_t>(N)) {
    extractor.frame(frame, features);
    const int code = detector.push(extractor.spectrum_re(), extractor.spectrum_im());
    if (bands)
      printf("%d %u\n", code, static_cast<unsigned>(detector.band_mask(edges, 16)));
    else
      putchar('0' + code);
  }
  if (!bands)
    putchar('\n');
  return 0;
}
