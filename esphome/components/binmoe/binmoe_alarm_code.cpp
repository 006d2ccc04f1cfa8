#include "binmoe_alarm_code.h"

namespace esphome::binmoe {

namespace {

// The reference's constants (node_factory/reference/alarm_code.py), in frames of 32 ms and feature steps
// of 0.75 dB; tests/esphome/test_alarm_code.py checks them against it.
struct Interval {
  uint16_t low, high;
};
constexpr int RISE = 8, SELECTIVITY = 4, FIRST_BAND = 2, LAST_BAND = 15, LEVEL_SPREAD = 8, GAP_DROP = 8;
constexpr int QUIET_MIN = 16;   // intervals from this long on have their silence checked
constexpr int SKIP_SPREAD = 4;  // peak spread of a chain that skips a pulse inside a burst
constexpr int MAX_INTERVAL = 198;
constexpr Interval T3_PERIOD[] = {{26, 37}, {26, 37}, {54, 71}};
constexpr Interval T4_PERIOD[] = {{3, 9}, {3, 9}, {3, 9}, {141, 178}};
// A T4 burst blurred by a live room: its span, its repetition and the pulses it needs (BURST_PULSES)
constexpr Interval BURST = {18, 30};
constexpr Interval BURST_PERIOD = {158, 198};
constexpr int BURST_PULSES = 2;
struct CodeShape {
  Interval pulse;  // pulse length
  int drop;        // steps under the peak that end a pulse ...
  int frames_low;  // ... for this many frames in a row
  int tail;        // frames after a pulse that are its decay, not yet its silence
  const Interval *period;
  int period_len;
  int need;       // consecutive intervals of the period a match needs
  int skip_need;  // ... when it skips one pulse inside a burst (0: never)
};
constexpr CodeShape CODES[2] = {
    {{13, 23}, 12, 2, 0, T3_PERIOD, 3, 4, 0},
    {{2, 9}, 8, 1, 4, T4_PERIOD, 4, 5, 6},
};

// The latest pulse before `current` at a distance within the interval and a peak within `spread` of `level`,
// -1 if none; `silent`: the code's long silence: no pulse in between may come near `level` (only much quieter
// ones), and the silence before each of them must be as quiet as the one before `current` (checked as a whole).
int earlier(const uint16_t *onsets, const int8_t *peaks, const int8_t *gaps, int current, const Interval &interval,
            bool silent, int level, int spread) {
  const int quiet = peaks[current] - GAP_DROP;
  for (int j = current - 1; j >= 0; j--) {
    const uint16_t gap = static_cast<uint16_t>(onsets[current] - onsets[j]);
    if (gap > interval.high)
      return -1;
    const int diff = peaks[j] - level;
    if (gap >= interval.low && diff <= spread && diff >= -spread)
      return j;
    if (silent && (diff >= -2 * LEVEL_SPREAD || gaps[j] > quiet))
      return -1;
  }
  return -1;
}

// Whether the newest pulse ends `need` consecutive intervals of the period, starting at any phase; a pulse
// after a long interval must follow a quiet silence. With `skip`, one pulse inside a burst may be missing
// (two short intervals in a row taken as one).
bool chain(const uint16_t *onsets, const int8_t *peaks, const int8_t *gaps, int count, const CodeShape &shape, int need,
           int spread, bool skip) {
  const int n = shape.period_len;
  const int level = peaks[count - 1];
  for (int phase = 0; phase < n; phase++) {
    int current = count - 1;
    bool can_skip = skip;
    for (int k = 0; k < need && current >= 0;) {
      const int index = ((phase - k) % n + n) % n;
      const int before = ((phase - k - 1) % n + n) % n;
      const Interval &interval = shape.period[index];
      int found = -1;
      if (interval.low < QUIET_MIN || gaps[current] <= peaks[current] - GAP_DROP)
        found = earlier(onsets, peaks, gaps, current, interval, index == n - 1, level, spread);
      if (found >= 0) {
        k++;
      } else if (can_skip && interval.low < QUIET_MIN && shape.period[before].low < QUIET_MIN) {
        const Interval both = {static_cast<uint16_t>(interval.low + shape.period[before].low),
                               static_cast<uint16_t>(interval.high + shape.period[before].high)};
        found = earlier(onsets, peaks, gaps, current, both, false, level, spread);
        can_skip = false;
        k += 2;
      }
      current = found;
    }
    if (current >= 0)
      return true;
  }
  return false;
}

bool matches(const uint16_t *onsets, const int8_t *peaks, const int8_t *gaps, int count, const CodeShape &shape) {
  if (chain(onsets, peaks, gaps, count, shape, shape.need, LEVEL_SPREAD, false))
    return true;
  return shape.skip_need > 0 && chain(onsets, peaks, gaps, count, shape, shape.skip_need, SKIP_SPREAD, true);
}

bool within(int a, int b, int spread) { return a - b <= spread && b - a <= spread; }

// Pulses within the span of a burst starting at `start`, and within LEVEL_SPREAD of `level`.
int burst_pulses(const uint16_t *onsets, const int8_t *peaks, int count, int start, int level) {
  int n = 0;
  for (int i = start; i < count; i++) {
    if (static_cast<uint16_t>(onsets[i] - onsets[start]) <= BURST.high && within(peaks[i], level, LEVEL_SPREAD))
      n++;
  }
  return n;
}

// Whether the newest pulse completes a T4 burst that repeats one a burst period before it: each burst
// BURST_PULSES pulses as loud as the newest, its first after a quiet silence; no pulse at all between the bursts.
bool bursts(const uint16_t *onsets, const int8_t *peaks, const int8_t *gaps, int count) {
  const int last = count - 1;
  int start = last;
  while (start > 0 && static_cast<uint16_t>(onsets[last] - onsets[start - 1]) <= BURST.high)
    start--;
  const int level = peaks[last];
  if (burst_pulses(onsets, peaks, count, start, level) < BURST_PULSES || !within(peaks[start], level, LEVEL_SPREAD) ||
      gaps[start] > peaks[start] - GAP_DROP)
    return false;
  for (int j = start - 1; j >= 0; j--) {
    const uint16_t distance = static_cast<uint16_t>(onsets[start] - onsets[j]);
    if (distance > BURST_PERIOD.high)
      return false;
    if (distance >= BURST_PERIOD.low) {
      const bool first = j == 0 || static_cast<uint16_t>(onsets[j] - onsets[j - 1]) >= BURST_PERIOD.low - BURST.high;
      if (first && gaps[j] <= peaks[j] - GAP_DROP && within(peaks[j], level, LEVEL_SPREAD) &&
          burst_pulses(onsets, peaks, count, j, level) >= BURST_PULSES)
        return true;
    } else if (distance < BURST_PERIOD.low - BURST.high) {
      return false;  // a pulse in the silence between the bursts
    }
  }
  return false;
}

}  // namespace

bool AlarmCodeDetector::configure(int bands) {
  if (bands < 1 || bands > MAX_BANDS)
    return false;
  this->bands_ = static_cast<uint8_t>(bands);
  this->reset();
  return true;
}

void AlarmCodeDetector::reset() {
  this->frame_ = 0;
  for (auto &row : this->recent_) {
    for (auto &level : row)
      level = 127;  // no rise in the first three frames
  }
  for (auto &band : this->pulses_) {
    for (auto &pulse : band) {
      pulse.active = false;
      pulse.count = 0;
      pulse.low = 0;
      pulse.gap = -128;
      pulse.gap_before = -128;
    }
  }
}

AlarmCodeDetector::Code AlarmCodeDetector::push(const int8_t *levels, uint16_t tone_bands) {
  const int bands = this->bands_;
  int8_t paired[MAX_BANDS];  // each band with the one above: a tone near an edge, or gliding over it
  for (int b = 0; b < bands; b++)
    paired[b] = b + 1 < bands && levels[b + 1] > levels[b] ? levels[b + 1] : levels[b];
  levels = paired;
  int rises[MAX_BANDS];
  int positive = 0;
  for (int b = 0; b < bands; b++) {
    int lowest = this->recent_[0][b];
    for (int i = 1; i < 3; i++) {
      if (this->recent_[i][b] < lowest)
        lowest = this->recent_[i][b];
    }
    rises[b] = levels[b] - lowest;
    if (rises[b] > 0)
      positive += rises[b];
  }
  const int mean_rise = positive / bands;
  Code found = NONE;
  const int last = LAST_BAND < bands - 1 ? LAST_BAND : bands - 1;
  for (int b = FIRST_BAND; b <= last; b++) {
    const bool onset = rises[b] >= RISE && rises[b] - mean_rise >= SELECTIVITY;
    for (int code = 1; code <= 2; code++) {
      if (this->track_(this->pulses_[b][code - 1], code, levels[b], onset) && found == NONE &&
          (code == T3 || ((tone_bands >> b) & 3u) != 0))
        found = static_cast<Code>(code);
    }
  }
  for (int b = 0; b < bands; b++) {
    this->recent_[0][b] = this->recent_[1][b];
    this->recent_[1][b] = this->recent_[2][b];
    this->recent_[2][b] = levels[b];
  }
  this->frame_++;
  return found;
}

bool AlarmCodeDetector::track_(Pulse &pulse, int code, int level, bool onset) {
  const CodeShape &shape = CODES[code - 1];
  bool matched = false;
  if (pulse.active) {
    if (level > pulse.peak)
      pulse.peak = static_cast<int8_t>(level);
    pulse.low = level <= pulse.peak - shape.drop ? pulse.low + 1 : 0;
    const int length = static_cast<uint16_t>(this->frame_ - pulse.onset) - (shape.frames_low - 1);
    if (pulse.low == shape.frames_low) {  // the pulse has ended
      if (length >= shape.pulse.low && length <= shape.pulse.high) {
        if (pulse.count > 0 && static_cast<uint16_t>(pulse.onset - pulse.onsets[pulse.count - 1]) > MAX_INTERVAL)
          pulse.count = 0;  // too old to be in a match (and the 16-bit clock may wrap)
        if (pulse.count == RING) {
          for (int i = 1; i < RING; i++) {
            pulse.onsets[i - 1] = pulse.onsets[i];
            pulse.peaks[i - 1] = pulse.peaks[i];
            pulse.gaps[i - 1] = pulse.gaps[i];
          }
          pulse.count--;
        }
        pulse.onsets[pulse.count] = pulse.onset;
        pulse.peaks[pulse.count] = pulse.peak;
        pulse.gaps[pulse.count] = pulse.gap_before;
        pulse.count++;
        matched = matches(pulse.onsets, pulse.peaks, pulse.gaps, pulse.count, shape) ||
                  (code == 2 && bursts(pulse.onsets, pulse.peaks, pulse.gaps, pulse.count));
        pulse.gap = -128;  // a new silence starts after the pulse's tail
        pulse.low = 0;
      } else {
        pulse.gap = pulse.gap_before > pulse.peak ? pulse.gap_before : pulse.peak;  // a sound in the silence
        pulse.low = 255;
      }
      pulse.active = false;
    } else if (length > shape.pulse.high) {
      pulse.active = false;  // too long for the code's pulse: another sound in the silence
      pulse.gap = pulse.gap_before > pulse.peak ? pulse.gap_before : pulse.peak;
      pulse.low = 255;
    }
  } else if (!onset) {
    if (pulse.low < shape.tail) {
      pulse.low++;
    } else if (level > pulse.gap) {
      pulse.gap = static_cast<int8_t>(level);
    }
  }
  // a pulse under way that rises again by RISE over its peak was noise before the real pulse
  if (onset && (!pulse.active || level >= pulse.peak + RISE)) {
    if (pulse.active)
      pulse.gap = pulse.gap_before > pulse.peak ? pulse.gap_before : pulse.peak;
    pulse.active = true;
    pulse.onset = this->frame_;
    pulse.peak = static_cast<int8_t>(level);
    pulse.low = 0;
    pulse.gap_before = pulse.gap;
  }
  return matched;
}

}  // namespace esphome::binmoe
