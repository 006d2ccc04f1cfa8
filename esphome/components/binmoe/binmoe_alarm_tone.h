// The smoke alarm's temporal-three code (ISO 8201: 0.5 s on, 0.5 s off, three times, 1.5 s off) and the CO
// alarm's temporal-four (four 0.1 s pulses 0.1 s apart, then about 5 s off) heard by following their tone
// (docs/esphome.md, "Alarm events"): per 32 ms frame the node's own FFT (no second one) is Hann-windowed in the
// frequency domain, the bins that stand 10 dB over the mean of the 25 around them are tonal, tones tonal for a few
// frames become channels (up to MAX_CHANNELS, held while they sound; two that follow one tone become one), and on
// each channel's level (its own bins, +-3 %) the pulses and their intervals are checked (T3), and T4's bursts of
// level maxima (a channel with a burst is held through the silence to the next). The reference is
// node_factory/reference/alarm_tone.py (where every constant comes from); tests/esphome/test_alarm_tone.py feeds
// both the same audio. Plain C++, fixed sizes, no heap.
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
  static constexpr int RING = 8;                      // pulses kept per channel
  static constexpr uint8_t NONE = 0, T3 = 1, T4 = 2;  // what a frame completes

  AlarmToneDetector() { this->reset(); }
  // The next frame's spectrum (FRAME values each; the kernel's FFT output, binmoe::FeatureExtractor): T3 when
  // a pulse ending now completes a T3 code on one of the followed tones, T4 when a burst judged now completes a
  // T4 code (T3 when both), else NONE.
  uint8_t push(const int32_t *re, const int32_t *im);
  // A new stream: no frame seen, no tone followed.
  void reset();
  // The feature bands holding a followed tone's bin now, a bit per band (edges: bands + 1 FFT-bin edges, band b
  // = edges[b] <= bin < edges[b + 1]; at most 16 bands): the alarm-code detector's `tone_bands`.
  uint16_t band_mask(const uint16_t *edges, int bands) const;
  // Whether T4 is heard too (on by default; off: T3 only, no tone held through T4's silence).
  void set_t4(bool on) { this->t4_ = on; }
  bool t4() const { return this->t4_; }
  // Whether codes count only on tones at a smoke or CO sounder's pitch (`alarm_pitch`, on by default; off: any).
  void set_pitch_gate(bool on) { this->pitch_gate_ = on; }
  bool pitch_gate() const { return this->pitch_gate_; }
  // Whether a pitch in 1/16 FFT bins is one a smoke or CO sounder sounds at (520 Hz +-10 % and its harmonics,
  // every pitch from its 5th harmonic's range up, piezo sounders included; 1 % margin).
  static bool admitted(int pitch);

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
    // at_pitch: the tone's pitch, read whenever it is heard, is a smoke or CO sounder's (three bits of one byte)
    bool active : 1, used : 1, at_pitch : 1;
    // T4 (track_t4_); its levels are bytes, 0 standing for nothing heard
    uint8_t pulses;          // of the burst under way (0: none)
    uint8_t ago;             // frames since its last pulse
    uint8_t last, dip;       // that pulse's level, and the lowest level since
    uint8_t high, low;       // the burst's loudest and quietest pulse
    uint8_t before;          // the silence's level before the burst (and since the pending one)
    uint8_t envelope;        // the room's recent level without single-frame clicks
    uint8_t base;            // the silence's level before the level's latest rise
    uint8_t pending_ago;     // frames since the pending burst's last pulse
    uint8_t pending_level;   // its mid level
    uint8_t pending_bin;     // the channel's bin when it was judged
    uint8_t pending_pulses;  // its pulses
    uint8_t silence;         // the loudest two-frame level since it
    bool heard_before : 1, burst_fresh : 1, ended : 1, pending : 1;
    uint8_t since_open : 4;  // frames since the channel opened, to FRESH_UNTIL (FRESH_UNTIL once a burst started)
  };
  bool track_(Channel &ch, int level, bool heard);
  static bool track_t4_(Channel &ch, int level, bool heard);
  static bool judge_burst_(Channel &ch);
  static bool quiet_(const Channel &ch, int a, int b);
  void merge_();
  void open_(const int32_t *re, const int32_t *im);
  bool counts_(const Channel &ch) const { return !this->pitch_gate_ || ch.at_pitch; }

  Channel channels_[MAX_CHANNELS];
  uint8_t score_[BINS];               // per bin: how tonal it has been lately
  uint32_t tonal_[(BINS + 31) / 32];  // this frame's tonal peaks, one bit per bin
  uint8_t levels_[32];                // the levels of the 26 bins around the one tested (ring, by bin & 31)
  uint16_t frame_{0};
  bool t4_{true};
  bool pitch_gate_{true};
};

}  // namespace esphome::binmoe
