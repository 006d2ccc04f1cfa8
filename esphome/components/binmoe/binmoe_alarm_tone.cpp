#include "binmoe_alarm_tone.h"

namespace esphome::binmoe {

namespace {

// The reference's constants (node_factory/reference/alarm_tone.py), in frames of 32 ms and log2_q3 steps of
// 0.376 dB; tests/esphome/test_alarm_tone.py checks them against it.
constexpr int FLOOR_BINS = 2 * AlarmToneDetector::FLOOR_HALF + 1;
constexpr int PEAK = 27;
constexpr int GAIN = 8, CREATE = 40, RELEASE = 48, SCORE_MAX = 128;
constexpr int MERGE = 18;
constexpr int RISE = 16, END = 32, END_FRAMES = 2;
constexpr int GAP = 20, SPREAD = 24, TAIL = 4;
constexpr int PULSE_MIN = 8, PULSE_MAX = 31;
constexpr int SHORT_MIN = 27, SHORT_MAX = 36, LONG_MIN = 55, LONG_MAX = 70, LONG_FROM = 47;
constexpr int MATCH = 5;
constexpr int LENGTH_SPREAD = 7;
constexpr int BIN_SPREAD = 1;
constexpr int16_t EMPTY = -1;
constexpr int SPACING_MIN = 5, SPACING_MAX = 8;
constexpr int DIP = 11, SPREAD_T4 = 16;
constexpr int END_WITHIN = 10;
constexpr int BURST_PULSES = 3, FRESH_PULSES = 2, BURST_MAX = 4;
constexpr int DECIDE = END_WITHIN + 3;
constexpr int PAIR_MIN = 159, PAIR_MAX = 197;
constexpr int DECAY = 4;
constexpr int GAP_T4 = 20, PAIR_SPREAD = 16;
constexpr int FRESH_UNTIL = 15;
// a sounder's pitch: 520 Hz +-10 % (LF_LOW..LF_HIGH Hz), harmonics 1..LF_HARMONICS, PITCH_MARGIN percent, read in
// PITCH_STEPS per bin of 31.25 Hz (16 steps per 31.25 Hz: 512 per 1,000 Hz)
constexpr int LF_LOW = 468, LF_HIGH = 572, PITCH_MARGIN = 1, LF_HARMONICS = 4, PITCH_STEPS = 16;
constexpr int PITCH_TOP = 65535;  // a uint16_t's top
constexpr int pitch_low(int n) { return (n * LF_LOW * (100 - PITCH_MARGIN) * 512 + 99999) / 100000; }
constexpr int pitch_high(int n) { return n * LF_HIGH * (100 + PITCH_MARGIN) * 512 / 100000; }

// features.log2_q3: 8 * the leading-one position + the next three bits; 0 for v <= 1.
int log2_q3(uint64_t v) {
  if (v <= 1)
    return 0;
  const int msb = 63 - __builtin_clzll(v);
  return msb * 8 + static_cast<int>(msb >= 3 ? (v >> (msb - 3)) & 7 : (v << (3 - msb)) & 7);
}

// Bin k of the Hann-windowed spectrum's power: (2 X[k] - X[k-1] - X[k+1]) >> 2 per part. The kernel's
// |re|, |im| <= 32782, so each part fits 18 bits before the shift and its square 31 bits; the sum < 2^32.
uint32_t hann_power(const int32_t *re, const int32_t *im, int k) {
  const int32_t hr = (2 * re[k] - re[k - 1] - re[k + 1]) >> 2;
  const int32_t hi = (2 * im[k] - im[k - 1] - im[k + 1]) >> 2;
  return static_cast<uint32_t>(hr * hr) + static_cast<uint32_t>(hi * hi);
}

// log2_q3 of the power of the tone's bins, at most 255 (a full-scale tone)
int channel_level(const int32_t *re, const int32_t *im, int bin, int width) {
  uint64_t sum = 0;
  for (int k = bin - width; k <= bin + width; k++)
    sum += hann_power(re, im, k);
  const int v = log2_q3(sum);
  return v > 255 ? 255 : v;
}

inline int16_t max16(int a, int b) { return static_cast<int16_t>(a > b ? a : b); }
inline uint8_t max8(int a, int b) { return static_cast<uint8_t>(a > b ? a : b); }
inline uint8_t min8(int a, int b) { return static_cast<uint8_t>(a < b ? a : b); }

// A channel's half width in bins: max(2, 3 % of its bin, rounded half up).
int half_width(int bin) { return (3 * bin + 50) / 100 > 2 ? (3 * bin + 50) / 100 : 2; }

// A tone's pitch in 1/16 bins: the loudest of `bin` and the two beside it (the lowest on a tie), moved by a
// parabola through the log power of that bin and its neighbours, at most half a bin (C's division truncates
// toward zero, as the reference's _div_toward_zero).
uint16_t read_pitch(const int32_t *re, const int32_t *im, int bin) {
  int level[5];  // bins bin-2 .. bin+2
  for (int j = 0; j < 5; j++)
    level[j] = log2_q3(hann_power(re, im, bin - 2 + j));
  int k = 1;
  for (int j = 2; j <= 3; j++)
    k = level[j] > level[k] ? j : k;
  const int curve = level[k - 1] - 2 * level[k] + level[k + 1];
  int shift = 0;
  if (curve < 0) {
    shift = PITCH_STEPS / 2 * (level[k - 1] - level[k + 1]) / curve;
    shift = shift > PITCH_STEPS / 2 ? PITCH_STEPS / 2 : (shift < -PITCH_STEPS / 2 ? -PITCH_STEPS / 2 : shift);
  }
  return static_cast<uint16_t>(PITCH_STEPS * (bin - 2 + k) + shift);
}

// The admitted pitches (1/16 bins): a range per low-frequency harmonic 1..LF_HARMONICS, then one to the top.
constexpr uint16_t PITCH_RANGES[LF_HARMONICS + 1][2] = {{pitch_low(1), pitch_high(1)},
                                                        {pitch_low(2), pitch_high(2)},
                                                        {pitch_low(3), pitch_high(3)},
                                                        {pitch_low(4), pitch_high(4)},
                                                        {pitch_low(5), PITCH_TOP}};
static_assert(LF_HARMONICS == 4, "one row of PITCH_RANGES per harmonic");

}  // namespace

bool AlarmToneDetector::admitted(int pitch) {
  for (const auto &range : PITCH_RANGES) {
    if (pitch >= range[0] && pitch <= range[1])
      return true;
  }
  return false;
}

uint16_t AlarmToneDetector::band_mask(const uint16_t *edges, int bands) const {
  if (bands > 16)
    bands = 16;
  uint16_t mask = 0;
  for (const auto &ch : this->channels_) {
    if (!ch.used || !this->counts_(ch))
      continue;
    for (int b = 0; b < bands; b++) {
      if (edges[b] <= ch.bin && ch.bin < edges[b + 1]) {
        mask |= static_cast<uint16_t>(1u << b);
        break;
      }
    }
  }
  return mask;
}

void AlarmToneDetector::reset() {
  this->frame_ = 0;
  for (auto &s : this->score_)
    s = 0;
  for (auto &ch : this->channels_)
    ch.used = false;
}

uint8_t AlarmToneDetector::push(const int32_t *re, const int32_t *im) {
  // tonal peaks: a local maximum PEAK over the mean of the 25 levels around it (a running sum, no division);
  // each bin's level is computed once, as the window reaches it, into a ring of 32 (the window spans 26)
  for (auto &w : this->tonal_)
    w = 0;
  uint8_t *level = this->levels_;
  int32_t sum = 0;
  for (int k = FIRST; k < FIRST + FLOOR_BINS; k++) {
    level[k & 31] = static_cast<uint8_t>(log2_q3(hann_power(re, im, k)));
    sum += level[k & 31];
  }
  for (int k = LOW_BIN; k <= HIGH_BIN; k++) {
    if (k > LOW_BIN) {
      const int added = k + FLOOR_HALF;
      level[added & 31] = static_cast<uint8_t>(log2_q3(hann_power(re, im, added)));
      sum += level[added & 31] - level[(k - FLOOR_HALF - 1) & 31];
    }
    const int v = level[k & 31];
    if (v >= level[(k - 1) & 31] && v >= level[(k + 1) & 31] && FLOOR_BINS * v - sum >= FLOOR_BINS * PEAK)
      this->tonal_[(k - LOW_BIN) >> 5] |= 1u << ((k - LOW_BIN) & 31);
  }
  auto tonal = [this](int i) { return i >= 0 && i < BINS && (this->tonal_[i >> 5] >> (i & 31)) & 1u; };
  for (int i = 0; i < BINS; i++) {
    const int s = this->score_[i] + (tonal(i - 1) || tonal(i) || tonal(i + 1) ? GAIN : 0) - 1;
    this->score_[i] = static_cast<uint8_t>(s < 0 ? 0 : (s > SCORE_MAX ? SCORE_MAX : s));
  }
  for (auto &ch : this->channels_) {
    if (!ch.used)
      continue;
    // a drifting tone moves its peaks, and so its score, to a neighbouring bin: the channel moves with it (one
    // bin a frame, to the higher-scoring neighbour, the upper one on a tie) and keeps its pulses
    const int j = ch.bin - LOW_BIN;
    const int down = j > 0 ? this->score_[j - 1] : -1, up = j + 1 < BINS ? this->score_[j + 1] : -1;
    if ((up > down ? up : down) > this->score_[j]) {
      ch.bin = static_cast<uint8_t>(up >= down ? ch.bin + 1 : ch.bin - 1);
      ch.width = static_cast<uint8_t>(half_width(ch.bin));
    }
  }
  this->merge_();
  uint8_t found = NONE;
  for (auto &ch : this->channels_) {
    if (!ch.used)
      continue;
    // a channel waiting through T4's silence is held (its tone is silent for 5 s: its score falls)
    if (this->score_[ch.bin - LOW_BIN] < RELEASE && !ch.pending && ch.pulses == 0) {
      ch.used = false;
      continue;
    }
    const int lo = ch.bin - ch.width, hi = ch.bin + ch.width;
    bool heard = false;
    for (int k = lo < LOW_BIN ? LOW_BIN : lo; k <= (hi > HIGH_BIN ? HIGH_BIN : hi) && !heard; k++)
      heard = tonal(k - LOW_BIN);
    if (heard)
      ch.at_pitch = admitted(read_pitch(re, im, ch.bin));
    const bool counts = this->counts_(ch);
    const int level = channel_level(re, im, ch.bin, ch.width);
    if (this->t4_ && track_t4_(ch, level, heard) && found == NONE && counts)
      found = T4;
    if (this->track_(ch, level, heard) && counts)
      found = T3;
  }
  this->open_(re, im);
  this->frame_++;
  return found;
}

void AlarmToneDetector::merge_() {
  // two channels that followed their tones to within a half width of each other read one tone's bins: the one
  // off the tone's peak (its bin scores lower; on a tie, the one holding less: no burst under way or pending, fewer
  // kept pulses; then the later slot) is released, so that copies of a few tones do not hold every slot
  auto keeps = [this](const Channel &ch) {
    return (this->score_[ch.bin - LOW_BIN] << 8) + (ch.pending || ch.pulses > 0 ? 2 * RING + 2 : 0) + ch.count;
  };
  for (int i = 0; i < MAX_CHANNELS; i++) {
    Channel &a = this->channels_[i];
    for (int j = i + 1; j < MAX_CHANNELS && a.used; j++) {
      Channel &b = this->channels_[j];
      const int d = a.bin > b.bin ? a.bin - b.bin : b.bin - a.bin;
      if (!b.used || d > (a.width < b.width ? a.width : b.width))
        continue;
      if (keeps(b) > keeps(a)) {
        a.used = false;
      } else {
        b.used = false;
      }
    }
  }
}

void AlarmToneDetector::open_(const int32_t *re, const int32_t *im) {
  Channel *free = nullptr;
  for (auto &ch : this->channels_) {
    if (!ch.used) {
      free = &ch;
      break;
    }
  }
  if (free == nullptr)
    return;
  int best = -1, best_score = CREATE - 1;
  for (int i = 0; i < BINS; i++) {
    const int f = i + LOW_BIN, s = this->score_[i];
    if (s <= best_score)
      continue;
    bool far = true;
    for (const auto &ch : this->channels_) {
      const int d = f > ch.bin ? f - ch.bin : ch.bin - f;
      if (ch.used && (d <= 3 || 20 * d <= ch.bin))
        far = false;
    }
    if (far) {
      best = f;
      best_score = s;
    }
  }
  if (best < 0)
    return;
  const int width = half_width(best);
  const uint8_t value = static_cast<uint8_t>(channel_level(re, im, best, width));
  *free = Channel{};
  free->bin = static_cast<uint8_t>(best);
  free->width = static_cast<uint8_t>(width);
  free->at_pitch = admitted(read_pitch(re, im, best));
  for (auto &h : free->history)
    h = value;
  free->gap_at_onset = free->gap = free->gap_before = free->second = free->second_before = EMPTY;
  free->since_end = TAIL;
  free->used = true;
  free->heard_before = true;
  // the tone's first pulse is under way: it started about score / (GAIN - 1) frames ago (a fresh tone)
  free->active = true;
  free->onset = static_cast<uint16_t>(this->frame_ - (best_score / (GAIN - 1) - 1));
  free->peak = value;
}

bool AlarmToneDetector::track_(Channel &ch, int level, bool heard) {
  bool matched = false;
  if (ch.since_end < TAIL)
    ch.since_end++;
  if (ch.active) {
    if (heard && level >= ch.peak + RISE) {  // a louder sound starts inside the pulse: it starts there
      ch.onset = this->frame_;
      ch.gap_at_onset = ch.second_before;
    }
    if (level > ch.peak)
      ch.peak = static_cast<uint8_t>(level);
    ch.below = level <= ch.peak - END ? ch.below + 1 : 0;
    if (ch.below >= END_FRAMES) {
      ch.active = false;
      const uint16_t length = static_cast<uint16_t>(this->frame_ - ch.onset);
      if (length >= PULSE_MIN && length <= PULSE_MAX) {
        if (ch.count > 0 && static_cast<uint16_t>(ch.onset - ch.onsets[ch.count - 1]) > LONG_MAX)
          ch.count = 0;  // too old to be in a code (and the 16-bit clock may wrap)
        if (ch.count == RING) {
          for (int j = 1; j < RING; j++) {
            ch.onsets[j - 1] = ch.onsets[j];
            ch.peaks[j - 1] = ch.peaks[j];
            ch.gaps[j - 1] = ch.gaps[j];
            ch.lengths[j - 1] = ch.lengths[j];
            ch.bins[j - 1] = ch.bins[j];
          }
          ch.count--;
        }
        ch.onsets[ch.count] = ch.onset;
        ch.peaks[ch.count] = ch.peak;
        ch.gaps[ch.count] = ch.gap_at_onset;
        ch.lengths[ch.count] = static_cast<uint8_t>(length);
        ch.bins[ch.count] = ch.bin;
        ch.count++;
        // counting back from the newest: the latest earlier pulse at a T3 interval, as loud, quiet between
        const int newest = ch.count - 1;
        int chain[MATCH] = {newest};
        int len = 1;
        for (int j = newest - 1; j >= 0 && len < MATCH; j--) {
          const uint16_t d = static_cast<uint16_t>(ch.onsets[chain[len - 1]] - ch.onsets[j]);
          if (d > LONG_MAX)
            break;
          const bool fits = (d >= SHORT_MIN && d <= SHORT_MAX) || (d >= LONG_MIN && d <= LONG_MAX);
          const int diff = ch.peaks[j] - ch.peaks[newest];
          if (fits && diff <= SPREAD && diff >= -SPREAD && quiet_(ch, j, chain[len - 1]))
            chain[len++] = j;
        }
        if (len == MATCH) {
          // bit k: the k-th interval counting back from the newest is long. T3's order (short, short, long,
          // repeating) lets four intervals be SSLS, SLSS or LSSL only (masks 2, 4, 9): not SLSL or three shorts
          int longs = 0;
          for (int k = 0; k < MATCH - 1; k++) {
            if (static_cast<uint16_t>(ch.onsets[chain[k]] - ch.onsets[chain[k + 1]]) >= LONG_FROM)
              longs |= 1 << k;
          }
          // and the five pulses of one sounder are about as long as each other
          // and on one pitch: a followed channel may drift, but not step between neighbouring notes
          int shortest = ch.lengths[newest], longest = ch.lengths[newest];
          int lowest = ch.bins[newest], highest = ch.bins[newest];
          for (int k = 1; k < MATCH; k++) {
            shortest = ch.lengths[chain[k]] < shortest ? ch.lengths[chain[k]] : shortest;
            longest = ch.lengths[chain[k]] > longest ? ch.lengths[chain[k]] : longest;
            lowest = ch.bins[chain[k]] < lowest ? ch.bins[chain[k]] : lowest;
            highest = ch.bins[chain[k]] > highest ? ch.bins[chain[k]] : highest;
          }
          matched = (longs == 2 || longs == 4 || longs == 9) && longest - shortest <= LENGTH_SPREAD &&
                    highest - lowest <= BIN_SPREAD;
        }
        ch.gap = ch.gap_before = ch.second = ch.second_before = EMPTY;  // a new silence starts after the tail
        ch.since_end = 0;
      }
    }
  }
  if (!ch.active && heard) {
    int lowest = ch.history[0];
    for (int h : ch.history)
      lowest = h < lowest ? h : lowest;
    if (level - lowest >= RISE) {
      ch.active = true;
      ch.below = 0;
      // a pulse split by a notch of the room (or a drifting tone): the tone rises again right after a kept
      // pulse ended, within its on time: one pulse, the kept one continues
      if (ch.count > 0 && ch.gap_before == EMPTY &&
          static_cast<uint16_t>(this->frame_ - ch.onsets[ch.count - 1]) <= MERGE) {
        ch.count--;
        ch.onset = ch.onsets[ch.count];
        ch.peak = ch.peaks[ch.count] > level ? ch.peaks[ch.count] : static_cast<uint8_t>(level);
        ch.gap_at_onset = ch.gaps[ch.count];
      } else {
        ch.onset = this->frame_;
        ch.peak = static_cast<uint8_t>(level);
        ch.gap_at_onset = ch.second_before;
      }
    }
  }
  // the silence: every frame from TAIL frames after the last kept pulse's end on; `gap_before` lags a frame.
  // A pulse keeps the silence's second-loudest level: one frame (a click) does not make it loud.
  ch.gap_before = ch.gap;
  ch.second_before = ch.second;
  if (ch.since_end >= TAIL) {
    ch.second = max16(ch.second, ch.gap < level ? ch.gap : level);
    ch.gap = max16(ch.gap, level);
  }
  ch.history[0] = ch.history[1];
  ch.history[1] = ch.history[2];
  ch.history[2] = static_cast<uint8_t>(level);
  return matched;
}

// One frame of a channel's T4 bursts (before track_ updates its history: the last three levels); true if a
// burst judged now completes the code with the pending one. A burst is one chain of level maxima (a lone
// maximum that the next does not continue gives way to it).
bool AlarmToneDetector::track_t4_(Channel &ch, int level, bool heard) {
  const uint8_t *h = ch.history;
  const int two = min8(h[0], h[1]);  // frames t-3 and t-2: the silence before a maximum at t-1 ends with them
  ch.envelope = max8(two, ch.envelope - DECAY);
  if (ch.since_open < FRESH_UNTIL)
    ch.since_open++;
  ch.ago = min8(ch.ago + 1, 255);
  if (ch.pending) {
    ch.silence = max8(ch.silence, two);
    ch.pending_ago++;
    ch.pending = ch.pending_ago <= PAIR_MAX + DECIDE;  // a partner's last pulse may come PAIR_MAX after its own
  }
  const bool rising = h[2] > h[1];
  if (!rising)  // a reverberant room's tone builds up over frames: the rise into a burst is not its silence
    ch.base = ch.pending ? max8(ch.envelope, ch.silence) : ch.envelope;
  const bool peak = ch.heard_before && rising && h[2] >= level;  // the last frame was a maximum
  ch.heard_before = heard;
  bool completed = false;
  if (ch.pulses > 0 && (ch.ago >= DECIDE || (peak && ch.ago - 1 > SPACING_MAX)))
    completed = judge_burst_(ch);
  if (peak) {
    const int m = h[2], d = ch.ago - 1;  // its level, and frames from the burst's last pulse to it
    const int quieter = m < ch.last ? m : ch.last, step = m > ch.last ? m - ch.last : ch.last - m;
    if (ch.pulses > 0 && d < SPACING_MIN) {
      if (m > ch.last) {  // the same pulse, louder (the burst's quietest keeps its first maximum)
        ch.last = static_cast<uint8_t>(m);
        ch.high = max8(ch.high, m);
        if (ch.pulses == 1)
          ch.low = static_cast<uint8_t>(m);
        ch.ago = 1;
        ch.dip = 255;
        ch.ended = false;
      }
    } else if (ch.pulses > 0 && ch.pulses < BURST_MAX && ch.dip <= quieter - DIP && step <= SPREAD_T4) {
      ch.pulses++;
      ch.last = static_cast<uint8_t>(m);
      ch.high = max8(ch.high, m);
      ch.low = min8(ch.low, m);
      ch.ago = 1;
      ch.dip = 255;
      ch.ended = false;
    } else if (ch.pulses <= 1) {  // a burst starts (or a lone maximum gives way to this one)
      if (ch.pulses == 0)
        ch.burst_fresh = ch.since_open <= SPACING_MAX;
      ch.since_open = FRESH_UNTIL;
      ch.pulses = 1;
      ch.ago = 1;
      ch.dip = 255;
      ch.ended = false;
      ch.last = ch.high = ch.low = static_cast<uint8_t>(m);
      // on a freshly opened channel the frames before are the tone's own first pulses, or not heard at all
      ch.before = ch.burst_fresh ? 0 : ch.base;
    }
  }
  if (ch.pulses > 0) {
    ch.dip = min8(ch.dip, level);
    if (ch.ago <= END_WITHIN && level <= (ch.high + ch.low) / 2 - END)
      ch.ended = true;
  }
  return completed;
}

// The burst under way is over: whether it is one and completes T4 with the pending one.
bool AlarmToneDetector::judge_burst_(Channel &ch) {
  const int mid = (ch.high + ch.low) / 2;
  const int fewest = ch.burst_fresh ? FRESH_PULSES : BURST_PULSES;
  const uint8_t pulses = ch.pulses;
  const bool burst = pulses >= fewest && ch.ended && ch.high - ch.low <= SPREAD_T4 && ch.before <= mid - GAP_T4;
  ch.pulses = 0;
  if (!burst)
    return false;
  const int apart = ch.pending_ago - ch.ago;
  const int diff = mid - ch.pending_level;
  // the later burst is heard on an older channel: it has at least the earlier one's pulses
  const bool paired = ch.pending && apart >= PAIR_MIN && apart <= PAIR_MAX && diff <= PAIR_SPREAD &&
                      diff >= -PAIR_SPREAD && ch.bin - ch.pending_bin <= BIN_SPREAD &&
                      ch.pending_bin - ch.bin <= BIN_SPREAD && ch.before <= ch.pending_level - GAP_T4 &&
                      pulses >= ch.pending_pulses;
  ch.pending = true;
  ch.pending_ago = ch.ago;
  ch.pending_level = static_cast<uint8_t>(mid);
  ch.pending_bin = ch.bin;
  ch.pending_pulses = pulses;
  ch.silence = 0;
  return paired;
}

// Everything between pulses a and b (a < b) GAP under both peaks, and something measured there.
bool AlarmToneDetector::quiet_(const Channel &ch, int a, int b) {
  int loudest = EMPTY;
  for (int c = a + 1; c <= b; c++) {
    loudest = ch.gaps[c] > loudest ? ch.gaps[c] : loudest;
    if (c < b)
      loudest = ch.peaks[c] > loudest ? ch.peaks[c] : loudest;
  }
  const int lower = ch.peaks[a] < ch.peaks[b] ? ch.peaks[a] : ch.peaks[b];
  return loudest != EMPTY && loudest <= lower - GAP;
}

}  // namespace esphome::binmoe
