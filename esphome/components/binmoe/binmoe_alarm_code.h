// The alarms' temporal codes (docs/esphome.md, "Alarm events"): smoke alarms sound temporal-three (ISO 8201:
// 0.5 s on, 0.5 s off, three times, 1.5 s off) and CO alarms temporal-four (UL 2034: four 0.1 s pulses 0.1 s
// apart, about 5 s off), whatever their pitch. A one-second window cannot show a code, the onsets of a band's
// pulses can: per band and code, the detector tracks pulses of the code's length in the frame features and
// checks the intervals between their onsets. The reference is node_factory/reference/alarm_code.py (where
// every constant comes from); tests/esphome/test_alarm_code.py feeds both the same frames. Plain C++, no heap.
#pragma once
#include <stdint.h>

namespace esphome::binmoe {

class AlarmCodeDetector {
 public:
  static constexpr int MAX_BANDS = 16;
  static constexpr int RING = 12;  // pulses kept per band and code
  enum Code : uint8_t { NONE = 0, T3 = 1, T4 = 2 };

  // A new stream with `bands` feature bands per frame (at most MAX_BANDS); false if there are too many.
  bool configure(int bands);
  static constexpr uint16_t ALL_BANDS = 0xFFFF;  // no tone detector: no band's T4 needs a followed tone

  // The next frame's features (`bands` int8 levels); T3 or T4 when a pulse ending now completes that code.
  // tone_bands: bit b when the tone detector follows a tone in band b in this frame (AlarmToneDetector::
  // band_mask); a band pair's T4 match (band b with b + 1) counts only if bit b or b + 1 is set.
  Code push(const int8_t *levels, uint16_t tone_bands = ALL_BANDS);
  // A new stream: no frame seen.
  void reset();

 protected:
  struct Pulse {
    uint16_t onset;         // frame (mod 2^16) of the pulse under way, if `active`
    uint16_t onsets[RING];  // onsets of the last `count` pulses of the code, oldest first, ...
    int8_t peaks[RING];     // ... their peaks ...
    int8_t gaps[RING];      // ... and the loudest frame of the silence before each
    int8_t peak;
    int8_t gap;         // the loudest frame since the last pulse of the code ended
    int8_t gap_before;  // `gap` when the pulse under way started
    uint8_t low;        // consecutive frames under the peak by the code's drop; after a pulse: of its tail
    uint8_t count;
    bool active;
  };
  bool track_(Pulse &pulse, int code, int level, bool onset);

  int16_t recent_[3][MAX_BANDS];  // the previous frames' levels, oldest first
  Pulse pulses_[MAX_BANDS][2];    // per band: T3, T4
  uint16_t frame_{0};
  uint8_t bands_{0};
};

}  // namespace esphome::binmoe
