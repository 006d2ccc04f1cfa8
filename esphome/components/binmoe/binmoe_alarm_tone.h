// The smoke alarm's temporal-three code (ISO 8201: 0.5 s on, 0.5 s off, three times, 1.5 s off) heard by
// following its tone (docs/esphome.md, "Alarm events"): per 32 ms frame the node's own FFT (no second one) is
// Hann-windowed in the frequency domain, the bins that stand 10 dB over the mean of the 25 around them are
// tonal, tones tonal for a few frames become channels (up to MAX_CHANNELS, held while they sound), and on each
// channel's level (its own bins, +-3 %) the pulses and their intervals are checked. The reference is
// node_factory/reference/alarm_tone.py (where every constant comes from); tests/esphome/test_alarm_tone.py
// feeds both the same audio. Plain C++, fixed sizes, no heap.
#pragma once
#include <stdint.h>

namespace esphome::binmoe {

class AlarmToneDetector {
 public:
  static constexpr int FRAME = 512;  // the FFT size it reads (16 kHz audio)
  static constexpr int LOW_BIN = 13, HIGH_BIN = 224, FLOOR_HALF = 12;
  static constexpr int FIRST = LOW_BIN - FLOOR_HALF, LAST = HIGH_BIN + FLOOR_HALF;
  static constexpr int BINS = HIGH_BIN - LOW_BIN + 1;
  static constexpr int MAX_CHANNELS = 12;
  static constexpr int RING = 8;  // pulses kept per channel

  AlarmToneDetector() { this->reset(); }
  // The next frame's spectrum (FRAME values each; the kernel's FFT output, binmoe::FeatureExtractor); true
  // when a pulse ending now completes a T3 code on one of the followed tones.
  bool push(const int32_t *re, const int32_t *im);
  // A new stream: no frame seen, no tone followed.
  void reset();

 protected:
  struct Channel {
    uint16_t onset;                 // frame (mod 2^16) of the pulse under way, if `active`
    uint16_t onsets[RING];          // the last `count` pulses, oldest first: onsets, ...
    int16_t gaps[RING];             // ... the second-loudest level of the silence before each (-1: none) ...
    uint8_t peaks[RING];            // ... their peaks ...
    uint8_t lengths[RING];          // ... their lengths (frames) ...
    uint8_t bins[RING];             // ... and the channel's bin when each ended
    int16_t gap_at_onset;           // of the pulse under way
    int16_t gap, gap_before;        // loudest level of the silence through the last frame, and the one before
    int16_t second, second_before;  // its second-loudest level, likewise (what a pulse keeps)
    uint8_t history[3];             // the channel's last levels (0..255), oldest first
    uint8_t peak;                   // of the pulse under way
    uint8_t bin, width;             // the tone's FFT bin, and its half width in bins
    uint8_t below;                  // frames in a row under the peak by END
    uint8_t since_end;              // frames since the last kept pulse ended (saturating)
    uint8_t count;
    bool active, used;
  };
  bool track_(Channel &ch, int level, bool heard);
  static bool quiet_(const Channel &ch, int a, int b);
  void open_(const int32_t *re, const int32_t *im);

  Channel channels_[MAX_CHANNELS];
  uint8_t score_[BINS];               // per bin: how tonal it has been lately
  uint32_t tonal_[(BINS + 31) / 32];  // this frame's tonal peaks, one bit per bin
  uint8_t levels_[32];                // the levels of the 26 bins around the one tested (ring, by bin & 31)
  uint16_t frame_{0};
};

}  // namespace esphome::binmoe
